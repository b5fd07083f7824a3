package table_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/mmapvec/persistence"
	"github.com/mmapvec/persistence/table"
)

// Create (the table appears complete or not at all) refuses, with a typed
// error about the type and nothing left behind, a row type whose table no
// open could read: a row past MaxRowSize, a field of 4 GiB (its column
// header's 32-bit element size would wrap to 0), a column of so many
// leaves that the manifest passes MaxManifestSize. Each was built whole,
// renamed into place, and then refused by every open as damaged.
func TestCreateRefusesUnreadableTable(t *testing.T) {
	var wide []reflect.StructField
	for i := range 80000 {
		wide = append(wide, reflect.StructField{Name: fmt.Sprintf("F%d", i), Type: reflect.TypeFor[uint8]()})
	}
	cases := []struct {
		name string
		row  reflect.Type
	}{
		{"row over MaxRowSize", reflect.StructOf([]reflect.StructField{
			{Name: "A", Type: reflect.TypeFor[int64]()},
			{Name: "Big", Type: reflect.ArrayOf(persistence.MaxRowSize+8, reflect.TypeFor[byte]())},
		})},
		{"field of 4 GiB", reflect.StructOf([]reflect.StructField{
			{Name: "A", Type: reflect.TypeFor[int64]()},
			{Name: "Big", Type: reflect.ArrayOf(1<<32, reflect.TypeFor[byte]())},
		})},
		{"column of 80000 leaves", reflect.StructOf([]reflect.StructField{{Name: "Wide", Type: reflect.StructOf(wide)}})},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "t")
			err := table.Create(dir, c.row, nil)
			if err == nil {
				tb, oerr := table.Open[table.Any](dir, nil)
				if oerr != nil {
					t.Fatalf("Create succeeded, but the table does not open: %v", oerr)
				}
				tb.Close()
				return
			}
			t.Logf("Create: %.300v", err)
			if errors.Is(err, table.ErrCorrupt) || !(errors.Is(err, table.ErrType) || errors.Is(err, table.ErrTooLarge)) {
				t.Errorf("Create's error should be ErrType or ErrTooLarge (the row type does not fit the format), not a damaged file")
			}
			if _, serr := os.Stat(dir); serr == nil {
				_, oerr := table.Open[table.Any](dir, &table.Options{ReadOnly: true})
				t.Errorf("a refused Create left %s behind, which does not open: %.200v", dir, oerr)
			}
		})
	}
}
