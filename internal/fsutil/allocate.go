//go:build unix

package fsutil

import "os"

// WriteZeros writes n zero bytes into f at off, extending it if it ends
// before off+n: blocks written, which a later store through a mapping
// overwrites without allocating.
func WriteZeros(f *os.File, off, n int64) error {
	buf := make([]byte, min(n, 1<<20))
	for n > 0 {
		w := min(n, int64(len(buf)))
		if _, err := f.WriteAt(buf[:w], off); err != nil {
			return err
		}
		off += w
		n -= w
	}
	return nil
}
