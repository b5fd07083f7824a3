package table_test

import (
	"path/filepath"
	"testing"

	"github.com/mmapvec/persistence/table"
)

// swappedNames names its columns against its Go fields: column "X" holds
// field Y, column "Y" holds field X.
type swappedNames struct {
	X int64 `persist:"Y"`
	Y int64 `persist:"X"`
	A int32 `persist:"B"`
	B int64 `persist:"A"`
}

// A name that is one column's name and another column's Go field name
// finds the column of that name (Column, ReadColumn, Strings, Symbols and
// Bind share the lookup): not whichever comes first in the manifest, which
// gave a wrong column silently when the types agreed.
func TestColumnNameBeforeFieldName(t *testing.T) {
	tb, err := table.Open[swappedNames](filepath.Join(t.TempDir(), "t"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tb.Close()
	if err := tb.Append(swappedNames{X: 1, Y: 2, A: 3, B: 4}); err != nil {
		t.Fatal(err)
	}
	x, err := table.ReadColumn[int64](tb, "X")
	if err != nil {
		t.Fatal(err)
	}
	if x.Name() != "X" || x.Get(0) != 2 {
		t.Errorf(`ReadColumn(t, "X") gave column %q holding %d; the column named "X" holds field Y = 2`, x.Name(), x.Get(0))
	}
	a, err := table.ReadColumn[int64](tb, "A")
	if err != nil {
		t.Errorf(`ReadColumn[int64](t, "A"): %v; the column named "A" is an int64`, err)
	} else if a.Get(0) != 4 {
		t.Errorf(`ReadColumn[int64](t, "A") gave column %q holding %d, want 4`, a.Name(), a.Get(0))
	}
}
