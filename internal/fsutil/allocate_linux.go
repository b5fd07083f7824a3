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
