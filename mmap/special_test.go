package mmap_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence/mmap"
)

// TestSpecialFilesRefused: a FIFO, a directory or a symlink to one is not
// a column file. A read-only open of a FIFO used to block forever in
// open(2), waiting for a writer.
func TestSpecialFilesRefused(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.col")
	require.NoError(t, syscall.Mkfifo(fifo, 0o644))
	sub := filepath.Join(dir, "sub.col")
	require.NoError(t, os.Mkdir(sub, 0o755))
	link := filepath.Join(dir, "link.col")
	require.NoError(t, os.Symlink(fifo, link))
	for _, path := range []string{fifo, sub, link} {
		for _, ro := range []bool{true, false} {
			done := make(chan error, 1)
			go func() {
				_, err := mmap.Open[int64](path, &mmap.Options{ReadOnly: ro})
				done <- err
			}()
			select {
			case err := <-done:
				require.ErrorIs(t, err, mmap.ErrCorrupt, "%s read-only %v", path, ro)
				require.Contains(t, err.Error(), "not a regular file")
			case <-time.After(10 * time.Second):
				t.Fatalf("opening %s (read-only %v) hangs", path, ro)
			}
		}
	}
}
