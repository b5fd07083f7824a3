package export_test

import (
	"io"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence/interop/export"
	"github.com/mmapvec/persistence/table"
)

// TestExportBesideSetRowFails: a value a writer sets in place while a
// reader exports lies past the heap the export took (table.Memory); the
// export once sliced it unchecked and panicked (in a Parquet row group's
// goroutine, killing the process). It now fails with table.ErrChanged, in
// every format. The writer is in the same process to make it
// deterministic; `persist export` beside a writer in another process is
// the same case.
func TestExportBesideSetRowFails(t *testing.T) {
	type row struct {
		ID int64
		S  string
		Y  table.Symbol
	}
	dir := filepath.Join(t.TempDir(), "t")
	w, err := table.Open[row](dir, nil)
	require.NoError(t, err)
	defer w.Close()
	n := 20000
	rows := make([]row, n)
	for i := range rows {
		rows[i] = row{int64(i), "v", "a"}
	}
	require.NoError(t, w.AppendRows(rows))
	require.NoError(t, w.Sync())

	for _, tc := range []struct {
		name string
		set  row
		run  func(*table.Table[table.Any], *export.Options) (int, error)
	}{
		{"csv string", row{-1, strings.Repeat("new", 1000), "a"}, func(r *table.Table[table.Any], o *export.Options) (int, error) {
			return export.CSV(r, io.Discard, o)
		}},
		{"jsonl", row{-1, "w", "a"}, func(r *table.Table[table.Any], o *export.Options) (int, error) {
			return export.JSONLines(r, io.Discard, o)
		}},
		{"parquet", row{-1, "x", "a"}, func(r *table.Table[table.Any], o *export.Options) (int, error) {
			// One row group encoded at a time, the smallest: the first is
			// committed (Progress, the SetRow) before the last is begun.
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
			o.RowGroupBytes = 1 << 16
			return export.Parquet(r, io.Discard, o)
		}},
		{"partitioned", row{-1, "y", "a"}, func(r *table.Table[table.Any], o *export.Options) (int, error) {
			o.PartitionBy = "Y"
			return export.ParquetDir(r, filepath.Join(t.TempDir(), "out"), o)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := table.Open[table.Any](dir, &table.Options{ReadOnly: true})
			require.NoError(t, err)
			defer r.Close()
			set := false
			opts := &export.Options{Progress: func(done, total int) {
				if !set {
					set = true
					require.NoError(t, w.SetRow(n-1, tc.set))
				}
			}}
			var got int
			func() {
				defer func() {
					if p := recover(); p != nil {
						t.Fatalf("export panicked after the writer's SetRow: %v", p)
					}
				}()
				got, err = tc.run(r, opts)
			}()
			require.True(t, set)
			require.ErrorIs(t, err, table.ErrChanged, "rows %d", got)
		})
	}
}

// TestExportBesideSetRowOfNewSymbolFails: the same for a symbol column,
// whose new symbol's code lies past the Ends the export took.
func TestExportBesideSetRowOfNewSymbolFails(t *testing.T) {
	type row struct {
		ID int64
		Y  table.Symbol
	}
	dir := filepath.Join(t.TempDir(), "t")
	w, err := table.Open[row](dir, nil)
	require.NoError(t, err)
	defer w.Close()
	n := 20000
	rows := make([]row, n)
	for i := range rows {
		rows[i] = row{int64(i), "a"}
	}
	require.NoError(t, w.AppendRows(rows))
	require.NoError(t, w.Sync())
	r, err := table.Open[table.Any](dir, &table.Options{ReadOnly: true})
	require.NoError(t, err)
	defer r.Close()
	set := false
	opts := &export.Options{Progress: func(done, total int) {
		if !set {
			set = true
			require.NoError(t, w.SetRow(n-1, row{-1, "a brand new symbol"}))
		}
	}}
	func() {
		defer func() {
			if p := recover(); p != nil {
				t.Fatalf("export panicked after the writer's SetRow: %v", p)
			}
		}()
		_, err = export.CSV(r, io.Discard, opts)
	}()
	require.True(t, set)
	require.ErrorIs(t, err, table.ErrChanged)
}
