//go:build unix

package fsutil

import (
	"fmt"
	"io"
	"os"
)

// CopyRange copies the n bytes at off in src to the same offset in dst,
// sharing the blocks where the file system can (a reflink, on btrfs and
// XFS), and otherwise with copy_file_range(2), which the kernel may serve
// by sharing or copying in the kernel, or read and write where neither
// exists. dst may end up longer than off+n (a reflink covers whole
// blocks); the caller cuts it. It reports whether the blocks were shared.
// Both files' offsets move.
func CopyRange(dst, src *os.File, off, n int64) (shared bool, err error) {
	if n == 0 {
		return false, nil
	}
	if cloneRange(dst, src, off, n) == nil {
		return true, nil
	}
	if _, err := src.Seek(off, io.SeekStart); err != nil {
		return false, err
	}
	if _, err := dst.Seek(off, io.SeekStart); err != nil {
		return false, err
	}
	// os.File.ReadFrom takes copy_file_range (or splice) for a limited
	// reader over a file, and falls back to a copy through memory.
	copied, err := io.Copy(dst, io.LimitReader(src, n))
	if err == nil && copied < n {
		err = fmt.Errorf("%s: %w: %d of %d bytes at %d", src.Name(), io.ErrUnexpectedEOF, copied, n, off)
	}
	return false, err
}
