package arrowtable

import "errors"

// ErrUnsupported is returned for a column whose type has no Arrow
// counterpart here (complex numbers, an element of no bytes).
var ErrUnsupported = errors.New("arrowtable: column type not supported")
