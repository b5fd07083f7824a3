package arrowtable

import "errors"

var (
	// ErrUnsupported is returned for a column whose type has no Arrow
	// counterpart here (an element of no bytes, a kind this version does
	// not know), and for a symbol dictionary past the 2 GiB Arrow's
	// offsets address.
	ErrUnsupported = errors.New("arrowtable: column type not supported")
	// ErrCorrupt is returned for a row whose value lies outside its heap or
	// dictionary: a damaged table, or one changed in place while read
	// without Consistent.
	ErrCorrupt = errors.New("arrowtable: value outside its heap")
	// ErrShrunk is returned by a reader whose table lost rows of its
	// snapshot (a Truncate, SwapRemove or Delete) while it read.
	ErrShrunk = errors.New("arrowtable: the table lost rows while read")
)
