package export_test

import (
	"io"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence/interop/export"
	"github.com/mmapvec/persistence/table"
)

// bulkRow is 32 bytes, as the bulk append benchmarks' rows.
type bulkRow struct {
	ID int64
	X  float64
	Y  float64
	K  int32
	F  float32
}

func bulkRows(n int) []bulkRow {
	rows := make([]bulkRow, n)
	for i := range rows {
		rows[i] = bulkRow{ID: int64(i), X: float64(i) * 0.5, Y: float64(i%1000) / 3, K: int32(i % 97), F: float32(i)}
	}
	return rows
}

func bulkTable(b *testing.B, n int) *table.Table[table.Any] {
	dir := filepath.Join(b.TempDir(), "t")
	tb, err := table.Open[bulkRow](dir, nil)
	require.NoError(b, err)
	require.NoError(b, tb.AppendRows(bulkRows(n)))
	require.NoError(b, tb.Close())
	r, err := table.Open[table.Any](dir, &table.Options{ReadOnly: true})
	require.NoError(b, err)
	b.Cleanup(func() { r.Close() })
	return r
}

const benchRows = 1 << 20

func BenchmarkParquetExport(b *testing.B) {
	t := bulkTable(b, benchRows)
	b.SetBytes(32 * benchRows)
	b.ReportAllocs()
	for b.Loop() {
		_, err := export.Parquet(t, io.Discard, &export.Options{Compression: "none"})
		require.NoError(b, err)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchRows), "ns/row")
}

func BenchmarkParquetGoGenericWriter(b *testing.B) {
	rows := bulkRows(benchRows)
	b.SetBytes(32 * benchRows)
	b.ReportAllocs()
	for b.Loop() {
		w := parquet.NewGenericWriter[bulkRow](io.Discard, parquet.Compression(&parquet.Uncompressed))
		for i := 0; i < len(rows); i += 4096 {
			_, err := w.Write(rows[i:min(i+4096, len(rows))])
			require.NoError(b, err)
		}
		require.NoError(b, w.Close())
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchRows), "ns/row")
}

// peakHeap runs f and samples the heap in use whenever f's output is
// written: the most it held.
type heapWriter struct{ peak uint64 }

func (h *heapWriter) Write(p []byte) (int, error) {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	h.peak = max(h.peak, m.HeapAlloc)
	return len(p), nil
}

// BenchmarkParquetExportHeap reports the most heap an export held (sampled
// at each write to its output), at two table sizes: with row groups of
// 4 MiB it is the same for a table four times as large.
func BenchmarkParquetExportHeap(b *testing.B) {
	for _, n := range []int{1 << 20, 4 << 20} {
		b.Run("rows="+strconv.Itoa(n>>20)+"M", func(b *testing.B) {
			t := bulkTable(b, n)
			b.SetBytes(32 * int64(n))
			var peak uint64
			for b.Loop() {
				runtime.GC()
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				h := &heapWriter{}
				_, err := export.Parquet(t, h, &export.Options{RowGroupBytes: 4 << 20})
				require.NoError(b, err)
				peak = max(peak, h.peak-min(h.peak, m.HeapAlloc))
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
		})
	}
}
