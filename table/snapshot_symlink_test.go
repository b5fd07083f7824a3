package table_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/mmapvec/persistence/table"
)

// Snapshot refuses a destination inside the table's own directory also
// when either is reached through a symbolic link: a table opened as "link"
// (link -> t) snapshotting into "t/inner", or a table "t" into
// "link/inner". The copy landed inside the table, whose Check then
// reported a stray entry.
func TestSnapshotRefusesTableDirThroughSymlink(t *testing.T) {
	type row struct{ A int64 }
	for _, c := range []struct {
		name      string
		open, dst string // relative to root
	}{
		{"table opened through a symlink", "link", "t/inner"},
		{"destination through a symlink", "t", "link/inner"},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			if err := os.Mkdir(filepath.Join(root, "t"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(filepath.Join(root, "t"), filepath.Join(root, "link")); err != nil {
				t.Fatal(err)
			}
			tb, err := table.Open[row](filepath.Join(root, c.open), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer tb.Close()
			if err := tb.Append(row{1}); err != nil {
				t.Fatal(err)
			}
			if err := tb.Sync(); err != nil {
				t.Fatal(err)
			}
			err = tb.Snapshot(filepath.Join(root, c.dst))
			if err == nil {
				rep, cerr := tb.Check()
				t.Errorf("Snapshot(%s) of the table at %s succeeded: the copy is inside the table's directory; table check afterwards: %v %v", c.dst, c.open, rep, cerr)
				if rep != nil {
					for _, p := range rep.Problems {
						t.Logf("  problem: %v", p)
					}
				}
			}
		})
	}
}
