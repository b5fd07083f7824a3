package ingest_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence/interop/export"
	"github.com/mmapvec/persistence/interop/ingest"
	"github.com/mmapvec/persistence/table"
)

type bulkRow struct {
	ID, TS int64
	Value  float64
	Count  uint64
}

func BenchmarkParquetImport(b *testing.B) {
	const n = 1 << 21
	dir := b.TempDir()
	tb, err := table.Open[bulkRow](filepath.Join(dir, "src"), nil)
	require.NoError(b, err)
	rows := make([]bulkRow, n)
	for i := range rows {
		rows[i] = bulkRow{int64(i), int64(i) * 1000, float64(i%1000) / 4, uint64(i % 97)}
	}
	require.NoError(b, tb.AppendRows(rows))
	require.NoError(b, tb.Close())
	file := filepath.Join(dir, "in.parquet")
	exportFile(b, filepath.Join(dir, "src"), file, &export.Options{})
	b.SetBytes(32 * n)
	for b.Loop() {
		f, err := os.Open(file)
		require.NoError(b, err)
		st, _ := f.Stat()
		got, err := ingest.Parquet(filepath.Join(dir, "dst"), f, st.Size(), nil)
		require.NoError(b, err)
		require.Equal(b, n, got)
		require.NoError(b, f.Close())
		b.StopTimer()
		require.NoError(b, os.RemoveAll(filepath.Join(dir, "dst")))
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/row")
}
