//go:build unix

package fsutil

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// Errors of [OpenRegular] and [ReadRegular]. Callers wrap them in their own
// corruption sentinel; errors.Is reaches them through that.
var (
	// ErrNotRegular: the path is a symlink, FIFO, device, socket or
	// directory, which a table never creates and must never follow.
	ErrNotRegular = errors.New("not a regular file")
	// ErrSize: the file's size is outside what its format allows.
	ErrSize = errors.New("file size outside what the format allows")
)

// OpenRegular opens path with flag (os.O_RDONLY, os.O_RDWR, optionally
// os.O_CREATE) and perm, refusing anything but a regular file. The final
// path component is never followed if it is a symlink, and the open never
// blocks (a FIFO with no writer would block a plain open forever); the
// kind is then checked with fstat on the open descriptor, so nothing can
// swap the file between the check and the use.
func OpenRegular(path string, flag int, perm os.FileMode) (*os.File, error) {
	f, err := os.OpenFile(path, flag|openNoFollow, perm)
	if err != nil {
		// O_NOFOLLOW's ELOOP, a directory's EISDIR, a FIFO's ENXIO (opened
		// for writing with no reader): say what the path is instead.
		if fi, lerr := os.Lstat(path); lerr == nil && !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("%s is a %s: %w; a table's files must be its own", path, KindName(fi.Mode()), ErrNotRegular)
		}
		return nil, withLimit(err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s is a %s: %w; a table's files must be its own", path, KindName(fi.Mode()), ErrNotRegular)
	}
	return f, nil
}

// ReadRegular reads a whole file that must be a regular file (as
// [OpenRegular] checks it) of at least minSize and at most maxSize bytes.
// The size is checked on the open descriptor before anything is
// allocated, so a sparse file of a terabyte costs nothing; a file that
// changes size while it is read is an error rather than a short or
// unbounded read.
func ReadRegular(path string, minSize, maxSize int64) ([]byte, error) {
	f, err := OpenRegular(path, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := fi.Size()
	if size < minSize || size > maxSize {
		if minSize == maxSize {
			return nil, fmt.Errorf("%s is %d bytes, want %d: %w", path, size, minSize, ErrSize)
		}
		return nil, fmt.Errorf("%s is %d bytes, want %d to %d: %w", path, size, minSize, maxSize, ErrSize)
	}
	b := make([]byte, size)
	if _, err := io.ReadFull(f, b); err != nil {
		return nil, &os.PathError{Op: "read", Path: path, Err: fmt.Errorf("file shrank while read: %w", err)}
	}
	// One more byte would mean it grew since the fstat: refuse a moving file.
	var one [1]byte
	if n, _ := f.Read(one[:]); n != 0 {
		return nil, fmt.Errorf("%s grew past %d bytes while read: %w", path, size, ErrSize)
	}
	return b, nil
}

// KindName names a kind of file other than regular, for messages.
func KindName(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "directory"
	case m&os.ModeSymlink != 0:
		return "symlink"
	case m&os.ModeNamedPipe != 0:
		return "named pipe (FIFO)"
	case m&os.ModeSocket != 0:
		return "socket"
	case m&os.ModeCharDevice != 0:
		return "character device"
	case m&os.ModeDevice != 0:
		return "block device"
	}
	return "non-regular file (" + m.Type().String() + ")"
}

// withLimit adds to an open's error the limit it ran into and the fix, when
// it is the process's or the system's descriptor limit.
func withLimit(err error) error {
	switch {
	case errors.Is(err, syscall.EMFILE):
		return fmt.Errorf("%w: the process is out of file descriptors (each column is one): close tables or raise ulimit -n", err)
	case errors.Is(err, syscall.ENFILE):
		return fmt.Errorf("%w: the system is out of file descriptors: close tables or raise fs.file-max", err)
	}
	return err
}
