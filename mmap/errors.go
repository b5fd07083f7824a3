package mmap

import (
	"errors"
	"fmt"

	"github.com/mmapvec/persistence/lockfile"
)

// Errors returned by this package. Use errors.Is: returned errors wrap these
// with the file's path and details.
var (
	// ErrCorrupt matches every error about a damaged file: [ErrTruncated],
	// [ErrBadMagic], [ErrEndianMarker], [ErrChecksum],
	// [ErrLengthBeyondFile], and any other inconsistency.
	ErrCorrupt = errors.New("mmap: corrupt file")

	ErrTruncated        = errors.New("mmap: file shorter than its header")
	ErrBadMagic         = errors.New("mmap: not a persistence vec file (bad magic)")
	ErrEndianMarker     = errors.New("mmap: invalid endianness marker")
	ErrChecksum         = errors.New("mmap: header checksum mismatch")
	ErrLengthBeyondFile = errors.New("mmap: length beyond the end of the file")

	// ErrByteOrder: the file was written on a machine of the other byte order.
	ErrByteOrder = errors.New("mmap: file has the other byte order")
	// ErrFormatVersion: the file's format version is not one this package reads.
	ErrFormatVersion = errors.New("mmap: unsupported format version")
	// ErrTag: the file's user tag is not the one asked for.
	ErrTag = errors.New("mmap: user tag mismatch")
	// ErrDataVersion: the file's user data version is not the one asked for.
	ErrDataVersion = errors.New("mmap: data version mismatch")
	// ErrElemType: the file holds elements of another size, alignment or layout.
	ErrElemType = errors.New("mmap: element type mismatch")
	// ErrUnsupportedType: the element type is not fixed-size and pointer-free.
	ErrUnsupportedType = errors.New("mmap: element type not fixed-size and pointer-free")

	ErrClosed   = errors.New("mmap: vec is closed")
	ErrReadOnly = errors.New("mmap: vec is read-only")
	// ErrPoisoned: an earlier Sync failed; nothing after it is durable and
	// the Vec must be closed and reopened (a failed fsync is never retried).
	ErrPoisoned = errors.New("mmap: an earlier sync failed; close and reopen")
	// ErrTooLarge: a length or size does not fit the format or the machine.
	ErrTooLarge = errors.New("mmap: too large")

	// ErrLocked is lockfile.ErrLocked: another handle holds the file.
	ErrLocked = lockfile.ErrLocked
)

// FileError is a problem with one file. It matches its Err and, for damage,
// [ErrCorrupt].
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

func fileErr(path string, err error, format string, args ...any) error {
	return &FileError{Path: path, Err: err, Detail: fmt.Sprintf(format, args...)}
}

// TypeError names the part of an element type that cannot be stored.
type TypeError struct {
	Type string // the element type
	Path string // field path inside it, "" for the type itself
	Kind string // the offending kind
	Hint string // how to fix it
}

func (e *TypeError) Error() string {
	where := e.Type
	if e.Path != "" {
		where += " field " + e.Path
	}
	return fmt.Sprintf("mmap: %s is a %s, which holds pointers or has no fixed size: %s", where, e.Kind, e.Hint)
}

func (e *TypeError) Unwrap() error { return ErrUnsupportedType }
