package ingest_test

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence/interop/ingest"
	"github.com/mmapvec/persistence/table"
)

// A table → CSV → table round trip keeps every row: a table whose only
// column is a string holding "" once exported that row as an empty line,
// which a CSV reader skips, and the import lost the row.
func TestCSVRoundTripEmptyStringRow(t *testing.T) {
	type row struct{ S string }
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	tb, err := table.Open[row](src, nil)
	require.NoError(t, err)
	require.NoError(t, tb.AppendRows([]row{{"a"}, {""}, {"b"}}))
	require.NoError(t, tb.Close())
	file := filepath.Join(dir, "rows.csv")
	exportFile(t, src, file, nil)

	dst := filepath.Join(dir, "dst")
	tb, err = table.Open[row](dst, nil)
	require.NoError(t, err)
	require.NoError(t, tb.Close())
	n, err := importFile(dst, file, nil)
	require.NoError(t, err)
	require.Equal(t, 3, n, "rows imported")
	require.Equal(t, readAll[row](t, src), readAll[row](t, dst))
}

// The package doc: a bad input "leaves the table as it was: an import into
// an existing table reads and converts the whole input once before it
// appends anything". A CSV whose symbol column holds more distinct values
// than the table's Options.MaxSymbols once passed the check, then failed
// part way with ErrSymbolLimit after whole batches were appended and
// synced. The check counts the symbols the input adds now.
func TestImportPastMaxSymbolsLeavesTable(t *testing.T) {
	type row struct {
		ID  int64
		Sym table.Symbol
	}
	dir := t.TempDir()
	dst := filepath.Join(dir, "dst")
	topts := &table.Options{MaxSymbols: 8}
	tb, err := table.Open[row](dst, topts)
	require.NoError(t, err)
	require.NoError(t, tb.AppendRows([]row{{0, "x"}}))
	require.NoError(t, tb.Close())

	csv := "ID,Sym\n"
	for i := range 40 {
		csv += strconv.Itoa(i+1) + ",v" + strconv.Itoa(i) + "\n"
	}
	file := filepath.Join(dir, "in.csv")
	require.NoError(t, os.WriteFile(file, []byte(csv), 0o644))
	_, err = importFile(dst, file, &ingest.Options{Table: topts, BatchRows: 4})
	require.Error(t, err)
	t.Logf("import error: %v", err)
	require.Len(t, readAll[row](t, dst), 1, "the table keeps the rows it had")
	require.ErrorIs(t, err, ingest.ErrInput, "a bad input is an error wrapping ErrInput")
}
