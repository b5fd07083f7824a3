package mmap

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

// canWriteBack reports whether writeBack/waitWriteBack work here.
const canWriteBack = true

// writeBack starts writing the dirty pages of [off, off+n) to the disk
// without waiting and without a device cache flush.
func writeBack(f *os.File, off, n int64) error {
	return syncRange(f, off, n, unix.SYNC_FILE_RANGE_WRITE)
}

// waitWriteBack waits until every page of [off, off+n) that was dirty has
// reached the device (its volatile cache: a flush must follow).
func waitWriteBack(f *os.File, off, n int64) error {
	return syncRange(f, off, n, unix.SYNC_FILE_RANGE_WAIT_BEFORE|unix.SYNC_FILE_RANGE_WRITE|unix.SYNC_FILE_RANGE_WAIT_AFTER)
}

func syncRange(f *os.File, off, n int64, flags int) error {
	for {
		err := unix.SyncFileRange(int(f.Fd()), off, n, flags)
		if err != unix.EINTR {
			if err != nil {
				return &os.PathError{Op: "sync_file_range", Path: f.Name(), Err: err}
			}
			return nil
		}
	}
}
