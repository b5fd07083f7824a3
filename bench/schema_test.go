package bench

import (
	"path/filepath"
	"testing"

	"github.com/mmapvec/persistence"
)

func BenchmarkAddColumn(b *testing.B) { runWorkload(b, SchemaWorkload(config())) }

// TestSchemaCasesKeepRows: the add, the drop and the copy each leave the
// rows as they were, and the table's history records the add and the drop.
func TestSchemaCasesKeepRows(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "table"), filepath.Join(dir, "copy")
	tab, err := OpenTable(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := fillTable(tab, tinyRows); err != nil {
		t.Fatal(err)
	}
	if err := tab.Close(); err != nil {
		t.Fatal(err)
	}
	for _, step := range []func() error{
		func() error { return setColumn(src, true) },
		func() error { return checkV2(src, tinyRows) },
		func() error { return setColumn(src, true) }, // no change
		func() error { return setColumn(src, false) },
		func() error { return copyV2(src, dst) },
		func() error { return checkV2(dst, tinyRows) },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	m, err := persistence.ReadManifest(src)
	if err != nil {
		t.Fatal(err)
	}
	var ops []string
	for _, h := range m.History {
		ops = append(ops, h.Op+" "+h.Name)
	}
	if len(m.Columns) != 4 || len(ops) != 6 || ops[4] != "add Weight" || ops[5] != "drop Weight" {
		t.Fatalf("%d columns after an add and a drop; history %q", len(m.Columns), ops)
	}
	if err := checkV2(src, tinyRows); err == nil {
		t.Fatal("the table still has the dropped column")
	}
}
