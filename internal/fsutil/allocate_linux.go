package fsutil

import (
	"os"

	"golang.org/x/sys/unix"
)

// Allocate extends f to at least off+n with blocks that are really
// allocated (fallocate(2), or zeros written where it is unsupported), so
// that a full disk is an error here and never a SIGBUS when a page of a
// mapping of the range is touched.
func Allocate(f *os.File, off, n int64) error {
	for {
		err := unix.Fallocate(int(f.Fd()), 0, off, n)
		switch err {
		case nil:
			return nil
		case unix.EINTR:
			continue
		case unix.EOPNOTSUPP, unix.ENOSYS:
			return WriteZeros(f, off, n)
		}
		return &os.PathError{Op: "fallocate", Path: f.Name(), Err: err}
	}
}

// FillHoles allocates blocks for whatever part of [off, off+n) of f is a
// hole (a file made sparse), keeping every byte it holds: for a file
// mapped and stored into, whose contents must survive. Where fallocate(2)
// is unsupported it does nothing: zeros cannot be written over data.
func FillHoles(f *os.File, off, n int64) error {
	for {
		err := unix.Fallocate(int(f.Fd()), unix.FALLOC_FL_KEEP_SIZE, off, n)
		switch err {
		case nil, unix.EOPNOTSUPP, unix.ENOSYS:
			return nil
		case unix.EINTR:
			continue
		}
		return &os.PathError{Op: "fallocate", Path: f.Name(), Err: err}
	}
}
