package mmap

import (
	"github.com/mmapvec/persistence/internal/errs"
	"github.com/mmapvec/persistence/lockfile"
)

// Errors returned by this package. Use errors.Is: returned errors wrap these
// with the file's path and details. They are the same values as the table
// package's errors of the same names.
var (
	// ErrCorrupt matches every error about a damaged file: [ErrTruncated],
	// [ErrBadMagic], [ErrEndianMarker], [ErrChecksum],
	// [ErrLengthBeyondFile], and any other inconsistency.
	ErrCorrupt = errs.ErrCorrupt

	ErrTruncated        = errs.ErrTruncated
	ErrBadMagic         = errs.ErrBadMagic
	ErrEndianMarker     = errs.ErrEndianMarker
	ErrChecksum         = errs.ErrChecksum
	ErrLengthBeyondFile = errs.ErrLengthBeyondFile

	// ErrByteOrder: the file was written on a machine of the other byte order.
	ErrByteOrder = errs.ErrByteOrder
	// ErrFormatVersion: the file's format version is not one this package reads.
	ErrFormatVersion = errs.ErrFormatVersion
	// ErrTag: the file's user tag is not the one asked for.
	ErrTag = errs.ErrTag
	// ErrDataVersion: the file's user data version is not the one asked for.
	ErrDataVersion = errs.ErrDataVersion
	// ErrElemType: the file holds elements of another size, alignment or layout.
	ErrElemType = errs.ErrElemType
	// ErrType: the element type is not fixed-size and pointer-free; the
	// error is a [*TypeError] naming the field.
	ErrType = errs.ErrType

	// ErrClosed: the Vec was closed.
	ErrClosed = errs.ErrClosed
	// ErrReadOnly: a change to a Vec opened read-only.
	ErrReadOnly = errs.ErrReadOnly
	// ErrPoisoned: an earlier Sync failed; nothing after it is durable and
	// the Vec must be closed and reopened (a failed fsync is never retried).
	ErrPoisoned = errs.ErrPoisoned
	// ErrRange: an index or count outside the Vec.
	ErrRange = errs.ErrRange
	// ErrTooLarge: a length or size does not fit the format or the machine.
	ErrTooLarge = errs.ErrTooLarge

	// ErrLocked is lockfile.ErrLocked: another handle holds the file.
	ErrLocked = lockfile.ErrLocked
)

// FileError is a problem with one file: it matches its Err and, for
// damage, [ErrCorrupt].
type FileError = errs.FileError

// TypeError names the part of an element type that cannot be stored; it
// matches [ErrType].
type TypeError = errs.TypeError
