package table

import (
	"errors"
	"os"
	"testing"

	"github.com/mmapvec/persistence"
	"github.com/mmapvec/persistence/internal/layout"
)

// An Open that makes its table in an existing empty directory refuses a
// manifest no open could read before it writes any file there.
func TestCreateInPlaceRefusesUnreadableManifest(t *testing.T) {
	l, err := layout.For[int64]()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	m := newManifest([]persistence.ColumnSpec{{Name: "A", File: "A.col", Layout: l}}, persistence.MaxRowSize+8, Options{})
	if err := createInPlace(dir, m, Options{}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("createInPlace of a %d-byte row: %v, want ErrTooLarge", m.RowSize, err)
	}
	if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
		t.Fatalf("the refused creation left %v (%v)", entries, err)
	}
}
