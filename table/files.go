package table

import (
	"errors"
	"fmt"
	"os"

	"github.com/mmapvec/persistence/internal/fsutil"
)

// readTableFile reads a table file whole. It must be a regular file of the
// table's own (no symlink, FIFO or device, checked on the open descriptor)
// whose size lies in [minSize, maxSize], checked before anything is
// allocated; otherwise the error matches [ErrCorrupt]. A missing file is
// the OS error.
func readTableFile(path string, minSize, maxSize int64) ([]byte, error) {
	b, err := fsutil.ReadRegular(path, minSize, maxSize)
	return b, corruptKind(err)
}

// openTableFile opens a table file for writing under the same rule as
// [readTableFile]: a regular file, never reached through a symlink.
func openTableFile(path string, flag int) (*os.File, error) {
	f, err := fsutil.OpenRegular(path, flag, 0o644)
	return f, corruptKind(err)
}

// corruptKind makes a file of the wrong kind or size match ErrCorrupt.
func corruptKind(err error) error {
	if errors.Is(err, fsutil.ErrNotRegular) || errors.Is(err, fsutil.ErrSize) {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return err
}

// prefixed names the package in an error that does not already start with
// it (every ErrCorrupt error does).
func prefixed(err error) error {
	if errors.Is(err, ErrCorrupt) {
		return err
	}
	return fmt.Errorf("table: %w", err)
}
