//go:build !linux

package table

import (
	"os"
	"syscall"
)

var errNotEmpty = syscall.ENOTEMPTY

// renameNoReplace renames a directory into place; rename(2) refuses a
// non-empty target, and Open only creates when the target is missing.
func renameNoReplace(from, to string) error { return os.Rename(from, to) }
