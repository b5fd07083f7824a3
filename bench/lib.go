package bench

import (
	"github.com/mmapvec/persistence/column"
	"github.com/mmapvec/persistence/table"
)

// Table is the library contender: a table of Row with live, read-only views of the two
// columns the scans read.
type Table struct {
	*table.Table[Row]
	ids    *column.Of[int64]
	values *column.Of[float64]
}

func OpenTable(dir string) (*Table, error) {
	t, err := table.Open[Row](dir, nil)
	if err != nil {
		return nil, err
	}
	ids, err := table.ReadColumn[int64](t, "ID")
	if err != nil {
		t.Close()
		return nil, err
	}
	values, err := table.ReadColumn[float64](t, "Value")
	if err != nil {
		t.Close()
		return nil, err
	}
	return &Table{Table: t, ids: ids, values: values}, nil
}

// Sum reads both columns through Slice, with the same kernels as the heap baseline.
func (t *Table) Sum() (int64, float64) {
	return SumInt64(t.ids.Slice()), SumFloat64(t.values.Slice())
}

func (t *Table) Values() []float64 { return t.values.Slice() }

// Commit makes Table a Committer: append each row, then one Sync.
func (t *Table) Commit(rs []Row) error {
	for _, r := range rs {
		if err := t.Append(r); err != nil {
			return err
		}
	}
	return t.Sync()
}

func (t *Table) Rows() (int, error) { return t.Len(), nil }

// OpenWideTable opens the eight-column table of the commit latency workload.
func OpenWideTable(dir string) (*table.Table[Wide], error) {
	return table.Open[Wide](dir, nil)
}
