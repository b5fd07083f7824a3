package export_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence/interop/export"
	"github.com/mmapvec/persistence/table"
)

// TestPartitionValueNamedAsDefault: the empty value's partition is named
// __HIVE_DEFAULT_PARTITION__; a value of that very text once went to the
// same file through a second writer, and the dataset lost rows the export
// reported written. Such a value is refused now.
func TestPartitionValueNamedAsDefault(t *testing.T) {
	type row struct {
		K string
		V int64
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "t")
	tb, err := table.Open[row](src, nil)
	require.NoError(t, err)
	var rows []row
	for i := range 100 {
		k := ""
		if i%2 == 1 {
			k = "__HIVE_DEFAULT_PARTITION__"
		}
		rows = append(rows, row{k, int64(i)})
	}
	require.NoError(t, tb.AppendRows(rows))
	require.NoError(t, tb.Close())
	ro := openAny(t, src)

	out := filepath.Join(dir, "out")
	_, err = export.ParquetDir(ro, out, &export.Options{PartitionBy: "K"})
	require.ErrorIs(t, err, export.ErrOption)
	require.ErrorContains(t, err, "__HIVE_DEFAULT_PARTITION__")

	// Without the literal, the empty value's partition holds its rows.
	out = filepath.Join(dir, "out2")
	ro.Close()
	tb, err = table.Open[row](src, nil)
	require.NoError(t, err)
	_, err = tb.DeleteFunc(func(r row) bool { return r.K != "" })
	require.NoError(t, err)
	require.NoError(t, tb.Close())
	ro = openAny(t, src)
	n, err := export.ParquetDir(ro, out, &export.Options{PartitionBy: "K"})
	require.NoError(t, err)
	require.Equal(t, 50, n)
	files, err := filepath.Glob(filepath.Join(out, "*", "*.parquet"))
	require.NoError(t, err)
	total := int64(0)
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		pf, err := parquet.OpenFile(bytesReader(b), int64(len(b)))
		require.NoError(t, err, "%s is not a valid Parquet file", f)
		total += pf.NumRows()
	}
	require.Equal(t, int64(n), total, "rows in the partitions (%d files) vs rows reported written", len(files))
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
