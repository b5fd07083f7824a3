package ingest_test

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence/interop/ingest"
	"github.com/mmapvec/persistence/table"
)

// An empty directory that exists (a t.TempDir, a mkdir before the import)
// takes a new table, and is left empty, not removed, by a failed import.
func TestImportIntoEmptyDirectory(t *testing.T) {
	for _, format := range []string{"parquet", "csv"} {
		t.Run(format, func(t *testing.T) {
			dir := t.TempDir()
			src := filepath.Join(dir, "src")
			newEvery(t, src, 0, 300)
			file := filepath.Join(dir, "rows."+format)
			exportFile(t, src, file, nil)

			dst := filepath.Join(dir, "dst")
			require.NoError(t, os.Mkdir(dst, 0o755))
			n, err := importFile(dst, file, nil)
			require.NoError(t, err)
			require.Equal(t, 300, n)
			require.Equal(t, csvOf(t, src), csvOf(t, dst))

			bad := filepath.Join(dir, "bad."+format)
			whole, err := os.ReadFile(file)
			require.NoError(t, err)
			cut := whole[:len(whole)/2]
			if format == "csv" {
				cut = append(whole[:len(whole):len(whole)], "1,\"x\"y,2\n"...)
			}
			require.NoError(t, os.WriteFile(bad, cut, 0o644))
			empty := filepath.Join(dir, "empty")
			require.NoError(t, os.Mkdir(empty, 0o755))
			_, err = importFile(empty, bad, &ingest.Options{BatchRows: 100})
			require.ErrorIs(t, err, ingest.ErrInput)
			entries, err := os.ReadDir(empty)
			require.NoError(t, err)
			require.Empty(t, entries)

			// A directory with something else in it is not a table.
			other := filepath.Join(dir, "other")
			require.NoError(t, os.Mkdir(other, 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(other, "notes.txt"), []byte("x"), 0o644))
			_, err = importFile(other, file, nil)
			require.Error(t, err)
			entries, err = os.ReadDir(other)
			require.NoError(t, err)
			require.Len(t, entries, 1)
		})
	}
}

// A table exported as CSV and imported into a new table keeps its values
// and the kinds of its columns: floats that happen to be whole numbers
// stay floats, and unsigned integers past int64 stay integers.
func TestCSVNewTableKeepsKinds(t *testing.T) {
	type row struct {
		ID    int64
		Price float64
		Big   uint64
		OK    bool
		Name  string
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	tb, err := table.Open[row](src, nil)
	require.NoError(t, err)
	rows := make([]row, 50)
	for i := range rows {
		rows[i] = row{ID: int64(i), Price: float64(i * 2), Big: math.MaxUint64 - uint64(i), OK: i%2 == 0, Name: "n" + strings.Repeat("x", i%3)}
	}
	rows[7].Price = math.Inf(-1)
	rows[8].Price = 1e21
	require.NoError(t, tb.AppendRows(rows))
	require.NoError(t, tb.Close())
	file := filepath.Join(dir, "rows.csv")
	exportFile(t, src, file, nil)
	text, err := os.ReadFile(file)
	require.NoError(t, err)
	require.Contains(t, string(text), "\n3,6.0,")

	dst := filepath.Join(dir, "dst")
	_, err = importFile(dst, file, nil)
	require.NoError(t, err)
	require.Equal(t, rows, readAll[row](t, dst))
}

// A CSV file whose values do not parse as their columns' types names each
// column that does not fit, with a value, and changes nothing.
func TestCSVMismatchPerColumn(t *testing.T) {
	type row struct {
		ID    int64   `persist:"id"`
		Price float64 `persist:"price"`
		OK    bool    `persist:"ok"`
		Name  string  `persist:"name"`
	}
	dir := t.TempDir()
	dst := filepath.Join(dir, "dst")
	tb, err := table.Open[row](dst, nil)
	require.NoError(t, err)
	require.NoError(t, tb.AppendRows([]row{{1, 1.5, true, "a"}}))
	require.NoError(t, tb.Close())
	before := csvOf(t, dst)

	file := filepath.Join(dir, "bad.csv")
	require.NoError(t, os.WriteFile(file, []byte("id,price,ok,name\n2,2.5,true,b\nx,3.5,false,c\n4,cheap,maybe,d\n"), 0o644))
	_, err = importFile(dst, file, nil)
	require.ErrorIs(t, err, ingest.ErrInput)
	msg := err.Error()
	require.Contains(t, msg, `column "id", record 2: "x" is no int64`)
	require.Contains(t, msg, `column "price", record 3: "cheap" is no float64`)
	require.Contains(t, msg, `column "ok", record 3: "maybe" is no bool`)
	require.NotContains(t, msg, `"name"`)
	require.Equal(t, before, csvOf(t, dst))
}

// File column names that make no table are a schema error, and leave no
// table behind.
func TestNewTableBadNames(t *testing.T) {
	dir := t.TempDir()
	for name, header := range map[string]string{"space": "a b,c", "twice": "a,A"} {
		file := filepath.Join(dir, name+".csv")
		require.NoError(t, os.WriteFile(file, []byte(header+"\n1,2\n"), 0o644))
		dst := filepath.Join(dir, name)
		_, err := importFile(dst, file, nil)
		require.ErrorIs(t, err, ingest.ErrSchema, name)
		require.NoDirExists(t, dst)
	}
}
