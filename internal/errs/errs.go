// Package errs holds the errors shared by every layer of the library: one
// sentinel per condition, whichever package reports it, so that a caller's
// errors.Is works the same on an error from a Vec, a column file or a table.
// The public packages re-export the ones their users meet (mmap.ErrClosed
// and table.ErrClosed are the same value).
package errs

import (
	"errors"
	"fmt"
)

var (
	// ErrCorrupt matches every error about a damaged file: the specific
	// ones below and any other inconsistency between or inside files.
	ErrCorrupt = errors.New("persistence: corrupt")

	ErrTruncated        = errors.New("persistence: file shorter than its header")
	ErrBadMagic         = errors.New("persistence: not a persistence column file (bad magic)")
	ErrEndianMarker     = errors.New("persistence: invalid endianness marker")
	ErrChecksum         = errors.New("persistence: checksum mismatch")
	ErrLengthBeyondFile = errors.New("persistence: length beyond the end of the file")

	// ErrByteOrder: written on a machine of the other byte order.
	ErrByteOrder = errors.New("persistence: file has the other byte order")
	// ErrFormatVersion: a format version this library does not read.
	ErrFormatVersion = errors.New("persistence: unsupported format version")
	// ErrTag: the file's user tag is not the one asked for.
	ErrTag = errors.New("persistence: user tag mismatch")
	// ErrDataVersion: the user data version is not the one asked for.
	ErrDataVersion = errors.New("persistence: data version mismatch")
	// ErrElemType: the file or column holds elements of another type.
	ErrElemType = errors.New("persistence: element type mismatch")
	// ErrType: a type cannot be stored: not fixed-size and pointer-free,
	// or (as a table's row) not a struct of such fields.
	ErrType = errors.New("persistence: unsuitable type")

	// ErrClosed: the handle was closed.
	ErrClosed = errors.New("persistence: closed")
	// ErrReadOnly: a change through a handle opened read-only.
	ErrReadOnly = errors.New("persistence: opened read-only")
	// ErrPoisoned: an earlier sync failed (or a store faulted: ErrFault);
	// nothing since the last good sync is durable, and the handle must be
	// closed and reopened (a failed fsync is never retried: the kernel may
	// have dropped the pages).
	ErrPoisoned = errors.New("persistence: poisoned by an earlier failure; close and reopen")
	// ErrRange: an index or count outside the data, wrapped with the index
	// and the length. Methods without an error result panic instead, like a
	// slice index.
	ErrRange = errors.New("persistence: index out of range")
	// ErrTooLarge: a length or size does not fit the format or the machine.
	ErrTooLarge = errors.New("persistence: too large")
	// ErrValueTooLarge: a string or bytes value is longer than the limit
	// the table was opened with (it matches ErrTooLarge too).
	ErrValueTooLarge = fmt.Errorf("%w: value longer than the limit", ErrTooLarge)
	// ErrSymbolLimit: a symbol column's dictionary holds as many distinct
	// values as it may.
	ErrSymbolLimit = errors.New("persistence: symbol dictionary full")
	// ErrFault: a store into a mapped file faulted: the file system could
	// not give the page (a full copy-on-write file system must find a new
	// block for every page rewritten), or the device failed.
	ErrFault = errors.New("persistence: a store into a mapped file faulted")
)

// FileError is a problem with one file. It matches its Err and, for
// damage, [ErrCorrupt].
type FileError struct {
	Path   string
	Err    error  // one of the sentinels above
	Detail string // what was found, and what to do
}

func (e *FileError) Error() string {
	if e.Detail == "" {
		return fmt.Sprintf("%v: %s", e.Err, e.Path)
	}
	return fmt.Sprintf("%v: %s: %s", e.Err, e.Path, e.Detail)
}

func (e *FileError) Unwrap() []error {
	switch e.Err {
	case ErrTruncated, ErrBadMagic, ErrEndianMarker, ErrChecksum, ErrLengthBeyondFile:
		return []error{e.Err, ErrCorrupt}
	}
	return []error{e.Err}
}

// File returns a *FileError for path.
func File(path string, err error, format string, args ...any) error {
	return &FileError{Path: path, Err: err, Detail: fmt.Sprintf(format, args...)}
}

// TypeError names the part of a type that cannot be stored.
type TypeError struct {
	Type string // the type
	Path string // field path inside it, "" for the type itself
	Kind string // the offending kind
	Hint string // how to fix it
}

func (e *TypeError) Error() string {
	where := e.Type
	if e.Path != "" {
		where += " field " + e.Path
	}
	return fmt.Sprintf("persistence: %s is a %s, which holds pointers or has no fixed size: %s", where, e.Kind, e.Hint)
}

func (e *TypeError) Unwrap() error { return ErrType }
