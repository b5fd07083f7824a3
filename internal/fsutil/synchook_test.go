package fsutil_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/mmapvec/persistence/internal/fsutil"
)

// TestSyncHook: the hook hears of every successful DataSync, by name, and
// of no failed one; nil removes it.
func TestSyncHook(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	fsutil.SetSyncHook(func(name string) { got = append(got, name) })
	defer fsutil.SetSyncHook(nil)
	if err := fsutil.DataSync(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := fsutil.DataSync(f); err == nil {
		t.Fatal("DataSync of a closed file succeeded")
	}
	if want := []string{path}; !slices.Equal(got, want) {
		t.Fatalf("the hook heard %q, want %q (the failed sync must not be reported)", got, want)
	}
	fsutil.SetSyncHook(nil)
	g, err := os.Create(path + "2")
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if err := fsutil.DataSync(g); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("a removed hook still heard %q", got[1:])
	}
}
