package table_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/mmapvec/persistence/table"
)

type rawWide struct {
	A int64
	B int32
	S string
}

type rawNarrow struct{ A int64 }

// A read-only open may map a subset of the columns: AppendElem and
// AppendValue of a column it did not map return ErrNoColumn, as Memory
// does, rather than dereference the missing column.
func TestAppendElemUnmappedColumn(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t")
	w, err := table.Open[rawWide](dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.Append(rawWide{A: 1, B: 2, S: "x"}); err != nil {
		t.Fatal(err)
	}
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	r, err := table.Open[rawNarrow](dir, &table.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	call := func(name string, f func() ([]byte, error)) {
		var err error
		func() {
			defer func() {
				if p := recover(); p != nil {
					err = fmt.Errorf("panic: %v", p)
				}
			}()
			_, err = f()
		}()
		if !errors.Is(err, table.ErrNoColumn) {
			t.Errorf("%s of a column the reader did not map: %v, want ErrNoColumn", name, err)
		}
	}
	call(`AppendElem(nil, "B", 0)`, func() ([]byte, error) { return r.AppendElem(nil, "B", 0) })
	call(`AppendValue(nil, "S", 0)`, func() ([]byte, error) { return r.AppendValue(nil, "S", 0) })
}
