package export

import "errors"

var (
	// ErrUnsupported: a column whose type has no counterpart in the format.
	ErrUnsupported = errors.New("export: column type not supported")
	// ErrOption: an option that makes no sense (an unknown compression, a
	// partition column that does not exist or cannot name a directory).
	ErrOption = errors.New("export: bad option")
)
