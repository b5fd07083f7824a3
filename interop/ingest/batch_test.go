package ingest_test

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence/interop/ingest"
	"github.com/mmapvec/persistence/table"
)

// Every batch an import appends holds Options.BatchRows rows but the last,
// whatever the file's row groups: a batch takes rows from as many row
// groups as it needs, so that an interrupted import leaves a multiple of
// BatchRows rows.
func TestBatchesSpanRowGroups(t *testing.T) {
	type rec struct {
		ID   int64  `parquet:"id"`
		Name string `parquet:"name"`
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "rows.parquet")
	f, err := os.Create(file)
	require.NoError(t, err)
	w := parquet.NewGenericWriter[rec](f, parquet.MaxRowsPerRowGroup(300))
	want := make([]rec, 2000)
	for i := range want {
		want[i] = rec{int64(i), "n" + strconv.Itoa(i)}
	}
	_, err = w.Write(want)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	require.NoError(t, f.Close())

	for _, batch := range []int{7, 333, 1000, 4096} {
		dst := filepath.Join(dir, strconv.Itoa(batch))
		var done []int
		n, err := importFile(dst, file, &ingest.Options{BatchRows: batch, Progress: func(d, _ int) { done = append(done, d) }})
		require.NoError(t, err)
		require.Equal(t, len(want), n)
		for i, d := range done[:len(done)-1] {
			require.Equal(t, (i+1)*batch, d, "batch %d of %d rows", i, batch)
		}
		require.Equal(t, len(want), done[len(done)-1])

		type row struct {
			ID   int64  `persist:"id"`
			Name string `persist:"name"`
		}
		tb, err := table.Open[row](dst, &table.Options{ReadOnly: true})
		require.NoError(t, err)
		got := make([]row, tb.Len())
		_, err = tb.ReadRows(got, 0)
		require.NoError(t, err)
		require.NoError(t, tb.Close())
		for i, r := range got {
			require.Equal(t, row(want[i]), r)
		}
	}
}
