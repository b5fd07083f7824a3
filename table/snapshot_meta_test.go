package table_test

import (
	"path/filepath"
	"testing"

	"github.com/mmapvec/persistence/table"
)

// A snapshot keeps the meta committed with the rows it holds, from the
// writer and from a SyncedOnly reader: a save game restored from one keeps
// its tick. It was dropped (the copy's Meta was nil), as nothing else that
// rewrites a table's files does.
func TestSnapshotKeepsSyncMeta(t *testing.T) {
	type row struct {
		A int64
		S string
	}
	root := t.TempDir()
	dir := filepath.Join(root, "t")
	w, err := table.Open[row](dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for i := range 10 {
		if err := w.Append(row{int64(i), "v"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.SyncMeta([]byte("tick-10")); err != nil {
		t.Fatal(err)
	}
	r, err := table.Open[row](dir, &table.Options{ReadOnly: true, SyncedOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got := string(r.Meta()); got != "tick-10" {
		t.Fatalf("reader's Meta before the snapshot: %q", got)
	}
	for _, c := range []struct {
		name string
		snap func(string) error
	}{{"writer", w.Snapshot}, {"reader", r.Snapshot}} {
		dst := filepath.Join(root, c.name)
		if err := c.snap(dst); err != nil {
			t.Fatalf("%s snapshot: %v", c.name, err)
		}
		s, err := table.Open[row](dst, nil)
		if err != nil {
			t.Fatalf("open %s snapshot: %v", c.name, err)
		}
		if s.Len() != 10 {
			t.Errorf("%s snapshot: %d rows, want 10", c.name, s.Len())
		}
		if got := string(s.Meta()); got != "tick-10" {
			t.Errorf("%s snapshot: Meta() = %q, want %q (the meta committed with the rows it holds)", c.name, got, "tick-10")
		}
		s.Close()
	}
}
