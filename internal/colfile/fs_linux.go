package colfile

import (
	"os"

	"golang.org/x/sys/unix"

	"github.com/mmapvec/persistence/internal/fsutil"
)

const mapNoReserve = unix.MAP_NORESERVE

// allocate extends f to off+n with blocks that are really allocated, so that
// a full disk is an error here and never a SIGBUS when a page is touched.
func allocate(f *os.File, off, n int64) error {
	for {
		err := unix.Fallocate(int(f.Fd()), 0, off, n)
		switch err {
		case nil:
			return nil
		case unix.EINTR:
			continue
		case unix.EOPNOTSUPP, unix.ENOSYS:
			return writeZeros(f, off, n)
		}
		return &os.PathError{Op: "fallocate", Path: f.Name(), Err: err}
	}
}

// dataSync is fdatasync(2).
var dataSync = fsutil.DataSync
