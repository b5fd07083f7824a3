package bench

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

func TestProcWrittenCountsDirtiedPages(t *testing.T) {
	dir := t.TempDir()
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil || st.Type == unix.TMPFS_MAGIC {
		t.Skip("tmpfs pages are not counted as written")
	}
	before := procWritten()
	if err := os.WriteFile(filepath.Join(dir, "f"), make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	if d := procWritten() - before; d < 1<<20 {
		t.Fatalf("write_bytes grew by %d after writing 1 MiB", d)
	}
}
