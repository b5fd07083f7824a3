package fsutil

import (
	"os"

	"golang.org/x/sys/unix"
)

// DataSync is fdatasync(2): the file's data and the metadata needed to
// read it reach the disk, and the device's cache is flushed.
func DataSync(f *os.File) error {
	for {
		err := unix.Fdatasync(int(f.Fd()))
		if err != unix.EINTR {
			if err != nil {
				return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: err}
			}
			synced(f)
			return nil
		}
	}
}
