package table

import (
	"os"

	"golang.org/x/sys/unix"
)

var errNotEmpty = unix.ENOTEMPTY

// renameNoReplace renames a directory into place unless the target exists.
func renameNoReplace(from, to string) error {
	err := unix.Renameat2(unix.AT_FDCWD, from, unix.AT_FDCWD, to, unix.RENAME_NOREPLACE)
	if err == unix.EINVAL || err == unix.ENOSYS {
		return os.Rename(from, to) // a file system without RENAME_NOREPLACE
	}
	if err != nil {
		return &os.LinkError{Op: "rename", Old: from, New: to, Err: err}
	}
	return nil
}
