package bench

import (
	"os"
	"path/filepath"
	"testing"
)

func TestTreeBytesCountsEveryFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, n := range map[string]int{"a": 10, "sub/b": 5000} {
		if err := os.WriteFile(filepath.Join(dir, name), make([]byte, n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := fsyncTree(dir); err != nil {
		t.Fatal(err)
	}
	size, alloc, err := treeBytes(dir)
	if err != nil || size != 5010 || alloc < 5010 {
		t.Fatalf("treeBytes = %d, %d, %v; want 5010 bytes in at least as many allocated", size, alloc, err)
	}
}
