//go:build unix && !linux

package fsutil

import (
	"errors"
	"os"
)

// cloneRange is Linux's FICLONERANGE; elsewhere blocks are copied.
func cloneRange(dst, src *os.File, off, n int64) error { return errors.ErrUnsupported }
