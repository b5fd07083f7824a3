package table_test

import (
	"errors"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/mmapvec/persistence/table"
)

// An Appender batch refused with ErrSymbolLimit adds no entry to any
// column's dictionary: before, the values stored before the refusal stayed
// and counted against MaxSymbols for good.
func TestAppenderRefusedBatchLeavesNoSymbol(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t")
	row := reflect.StructOf([]reflect.StructField{{Name: "Sym", Type: reflect.TypeFor[table.Symbol]()}})
	if err := table.Create(dir, row, nil); err != nil {
		t.Fatal(err)
	}
	a, err := table.OpenAppender(dir, &table.Options{MaxSymbols: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := a.Append(2, []table.ColumnData{{Values: []string{"DE", "FR"}}}); !errors.Is(err, table.ErrSymbolLimit) {
		t.Fatalf("a batch of two new symbols with room for one: %v, want ErrSymbolLimit", err)
	}
	if a.Len() != 0 {
		t.Fatalf("%d rows after a refused batch", a.Len())
	}
	if err := a.Append(1, []table.ColumnData{{Values: []string{"US"}}}); err != nil {
		t.Fatalf("the column holds no distinct value yet; MaxSymbols is 1: %v", err)
	}
}
