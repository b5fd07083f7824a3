package table_test

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"testing"

	"github.com/mmapvec/persistence/internal/fsutil"
	"github.com/mmapvec/persistence/table"
)

// Event is the 4-field, 32-byte record of the benchmarks.
type Event struct {
	ID    int64
	TS    int64
	Value float64
	Count uint64
}

// Wide has 8 columns, for the commit latency benchmark.
type Wide struct{ A, B, C, D, E, F, G, H int64 }

func openBench[R any](b *testing.B, dir string) *table.Table[R] {
	b.Helper()
	tb, err := table.Open[R](dir, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = tb.Close() })
	return tb
}

func BenchmarkAppend(b *testing.B) {
	// Into new pages, with and without the pretoucher; cpu-ns/op is the
	// whole process's CPU time (the pretoucher's goroutine included), and
	// faults/Mop the page faults the appending thread took per million rows.
	for _, pre := range []bool{true, false} {
		name := "impl=table"
		if !pre {
			name = "impl=table-nopretouch"
		}
		b.Run(name, func(b *testing.B) {
			tb, err := table.Open[Event](b.TempDir(), &table.Options{NoPretouch: !pre})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = tb.Close() })
			b.ReportAllocs()
			b.SetBytes(32)
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			cpu, faults := cpuTime(), threadFaults()
			i := int64(0)
			for b.Loop() {
				if err := tb.Append(Event{ID: i, TS: i, Value: 1, Count: 2}); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
			b.ReportMetric(float64(threadFaults()-faults)*1e6/float64(b.N), "faults/Mop")
		})
	}
	// Warm: rows land in pages touched before (a table reused after
	// Truncate), so no page fault is counted: the CPU cost alone.
	b.Run("impl=table-warm", func(b *testing.B) {
		tb := openBench[Event](b, b.TempDir())
		const window = 1 << 12 // 8 pages per column: they stay dirty and writable
		for i := range window {
			_ = tb.Append(Event{ID: int64(i)})
		}
		_ = tb.Truncate(0)
		b.ReportAllocs()
		b.SetBytes(32)
		cpu := cpuTime()
		defer func() { b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op") }()
		i := int64(0)
		for b.Loop() {
			if tb.Len() == window {
				_ = tb.Truncate(0)
			}
			if err := tb.Append(Event{ID: i, TS: i, Value: 1, Count: 2}); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("impl=heap-columns", func(b *testing.B) {
		var ids, ts []int64
		var vs []float64
		var cs []uint64
		b.ReportAllocs()
		b.SetBytes(32)
		i := int64(0)
		for b.Loop() {
			e := Event{ID: i, TS: i, Value: 1, Count: 2}
			ids, ts, vs, cs = append(ids, e.ID), append(ts, e.TS), append(vs, e.Value), append(cs, e.Count)
			i++
		}
		sink = len(ids) + len(ts) + len(vs) + len(cs)
	})
}

// cpuTime is the process's CPU time so far, user and system, in ns.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// sink keeps the heap baselines' results alive.
var sink int

const bulkRows = 16 << 20

func bulkInput() []Event {
	rs := make([]Event, bulkRows)
	for i := range rs {
		rs[i] = Event{ID: int64(i), TS: int64(i) * 10, Value: float64(i), Count: uint64(i)}
	}
	return rs
}

// BenchmarkAppendRows appends 16M rows to a new table each time, growth
// included.
func BenchmarkAppendRows(b *testing.B) {
	rs := bulkInput()
	b.Run("impl=table/rows=16M", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(32 * bulkRows)
		for b.Loop() {
			b.StopTimer()
			dir := filepath.Join(b.TempDir(), "t")
			b.StartTimer()
			tb, err := table.Open[Event](dir, nil)
			if err != nil {
				b.Fatal(err)
			}
			if err := tb.AppendRows(rs); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			_ = tb.Close()
			_ = os.RemoveAll(dir)
			b.StartTimer()
		}
	})
	b.Run("impl=heap-columns/rows=16M", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(32 * bulkRows)
		for b.Loop() {
			var ids, ts []int64
			var vs []float64
			var cs []uint64
			for _, e := range rs {
				ids, ts, vs, cs = append(ids, e.ID), append(ts, e.TS), append(vs, e.Value), append(cs, e.Count)
			}
			sink = len(ids) + len(ts) + len(vs) + len(cs)
		}
	})
}

func sumInt64(s []int64) int64 {
	var t int64
	for _, x := range s {
		t += x
	}
	return t
}

func BenchmarkScanColumn(b *testing.B) {
	tb := openBench[Event](b, b.TempDir())
	rs := bulkInput()
	if err := tb.AppendRows(rs); err != nil {
		b.Fatal(err)
	}
	if err := tb.Sync(); err != nil {
		b.Fatal(err)
	}
	heap := make([]int64, bulkRows)
	for i := range heap {
		heap[i] = rs[i].ID
	}
	col, err := table.Column[int64](tb, "ID")
	if err != nil {
		b.Fatal(err)
	}
	want := sumInt64(heap)
	b.Run("impl=table/rows=16M", func(b *testing.B) {
		b.SetBytes(8 * bulkRows)
		for b.Loop() {
			if sumInt64(col.Slice()) != want {
				b.Fatal("bad sum")
			}
		}
	})
	b.Run("impl=heap/rows=16M", func(b *testing.B) {
		b.SetBytes(8 * bulkRows)
		for b.Loop() {
			if sumInt64(heap) != want {
				b.Fatal("bad sum")
			}
		}
	})
}

// BenchmarkCommit: Sync after one appended row of an 8-column table,
// against one page write+fdatasync on the same disk.
func BenchmarkCommit(b *testing.B) {
	b.Run("impl=table-sync/cols=8", func(b *testing.B) {
		tb := openBench[Wide](b, b.TempDir())
		b.ReportAllocs()
		for b.Loop() {
			if err := tb.Append(Wide{A: 1}); err != nil {
				b.Fatal(err)
			}
			if err := tb.Sync(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("impl=write-fdatasync/bytes=4096", func(b *testing.B) {
		f, err := os.Create(filepath.Join(b.TempDir(), "page"))
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		page := make([]byte, 4096)
		b.ReportAllocs()
		for b.Loop() {
			page[0]++
			if _, err := f.WriteAt(page, 0); err != nil {
				b.Fatal(err)
			}
			if err := fsutil.DataSync(f); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkOpen opens (and closes) tables of 1 MiB and 1 GiB of rows.
func BenchmarkOpen(b *testing.B) {
	for _, c := range []struct {
		name string
		rows int
	}{{"size=1MiB", 1 << 15}, {"size=1GiB", 1 << 25}} {
		dir := filepath.Join(b.TempDir(), "t")
		tb, err := table.Open[Event](dir, nil)
		if err != nil {
			b.Fatal(err)
		}
		batch := make([]Event, 1<<20)
		for tb.Len() < c.rows {
			if err := tb.AppendRows(batch[:min(len(batch), c.rows-tb.Len())]); err != nil {
				b.Fatal(err)
			}
		}
		if err := tb.Sync(); err != nil {
			b.Fatal(err)
		}
		if err := tb.Close(); err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				tb, err := table.Open[Event](dir, nil)
				if err != nil {
					b.Fatal(err)
				}
				if tb.Len() != c.rows {
					b.Fatal("wrong length")
				}
				_ = tb.Close()
			}
		})
	}
}

// BenchmarkCreate times making a new, empty table (every file written and
// flushed, its write-ahead log of the given size included) and closing it.
func BenchmarkCreate(b *testing.B) {
	for _, size := range []int{table.MinLogSize, table.DefaultLogSize} {
		b.Run(fmt.Sprintf("log=%dKiB", size>>10), func(b *testing.B) {
			root := b.TempDir()
			i := 0
			for b.Loop() {
				dir := filepath.Join(root, strconv.Itoa(i))
				i++
				tb, err := table.Open[Event](dir, &table.Options{LogSize: size})
				if err != nil {
					b.Fatal(err)
				}
				if err := tb.Close(); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if err := os.RemoveAll(dir); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}

// scanTable is a table of rowScanRows Events for the row-path benchmarks,
// with the sum of its ID column.
const rowScanRows = 1 << 20

func scanTable(b *testing.B) (*table.Table[Event], int64) {
	b.Helper()
	tb := openBench[Event](b, b.TempDir())
	rs := make([]Event, rowScanRows)
	var want int64
	for i := range rs {
		rs[i] = Event{ID: int64(i), TS: int64(i) * 10, Value: float64(i), Count: uint64(i)}
		want += int64(i)
	}
	if err := tb.AppendRows(rs); err != nil {
		b.Fatal(err)
	}
	return tb, want
}

// BenchmarkRowScan sums one field over every row by each row path, against
// a scan of that field's column: the ratio of ns/op is the cost of asking
// for whole rows.
func BenchmarkRowScan(b *testing.B) {
	tb, want := scanTable(b)
	col, err := table.Col(tb, func(e *Event) *int64 { return &e.ID })
	if err != nil {
		b.Fatal(err)
	}
	check := func(b *testing.B, got int64) {
		if got != want {
			b.Fatalf("sum %d, want %d", got, want)
		}
	}
	b.Run("path=column/rows=1M", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			check(b, sumInt64(col.Slice()))
		}
	})
	b.Run("path=Row/rows=1M", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var s int64
			for i := range tb.Len() {
				s += tb.Row(i).ID
			}
			check(b, s)
		}
	})
}

// BenchmarkRowPaths: the same sum through All and ReadRows, and through
// Row reading every field (the whole-row scan a row path is for).
func BenchmarkRowPaths(b *testing.B) {
	tb, want := scanTable(b)
	check := func(b *testing.B, got int64) {
		if got != want {
			b.Fatalf("sum %d, want %d", got, want)
		}
	}
	b.Run("path=All/rows=1M", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var s int64
			for _, e := range tb.All() {
				s += e.ID
			}
			check(b, s)
		}
	})
	b.Run("path=ReadRows/rows=1M", func(b *testing.B) {
		buf := make([]Event, 4096)
		b.ReportAllocs()
		for b.Loop() {
			var s int64
			for from := 0; from < tb.Len(); {
				n, err := tb.ReadRows(buf, from)
				if err != nil {
					b.Fatal(err)
				}
				for _, e := range buf[:n] {
					s += e.ID
				}
				from += n
			}
			check(b, s)
		}
	})
	// Every field of every row: against summing all four columns.
	cols := func(b *testing.B) (id, ts []int64, v []float64, c []uint64) {
		ci, _ := table.Col(tb, func(e *Event) *int64 { return &e.ID })
		ct, _ := table.Col(tb, func(e *Event) *int64 { return &e.TS })
		cv, _ := table.Col(tb, func(e *Event) *float64 { return &e.Value })
		cc, err := table.Col(tb, func(e *Event) *uint64 { return &e.Count })
		if err != nil {
			b.Fatal(err)
		}
		return ci.Slice(), ct.Slice(), cv.Slice(), cc.Slice()
	}
	b.Run("path=columns-all-fields/rows=1M", func(b *testing.B) {
		id, ts, v, c := cols(b)
		b.ReportAllocs()
		for b.Loop() {
			var s int64
			for i := range id {
				s += id[i] + ts[i] + int64(v[i]) + int64(c[i])
			}
			sink = int(s)
		}
	})
	b.Run("path=Row-all-fields/rows=1M", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var s int64
			for i := range tb.Len() {
				e := tb.Row(i)
				s += e.ID + e.TS + int64(e.Value) + int64(e.Count)
			}
			sink = int(s)
		}
	})
	b.Run("path=All-all-fields/rows=1M", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var s int64
			for _, e := range tb.All() {
				s += e.ID + e.TS + int64(e.Value) + int64(e.Count)
			}
			sink = int(s)
		}
	})
}

// BenchmarkDelete: a stable delete of the first row of 1M rows (every row
// moves: staged, then copied down), and a DeleteFunc removing every other
// row, each on a table refilled outside the timer.
func BenchmarkDelete(b *testing.B) {
	for _, c := range []struct {
		name string
		op   func(*table.Table[Event]) error
	}{
		{"op=Delete(0)/rows=1M", func(tb *table.Table[Event]) error { return tb.Delete(0) }},
		{"op=DeleteFunc(half)/rows=1M", func(tb *table.Table[Event]) error {
			_, err := tb.DeleteFunc(func(e Event) bool { return e.ID%2 == 0 })
			return err
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			tb, _ := scanTable(b)
			rs := make([]Event, rowScanRows)
			b.ReportAllocs()
			b.SetBytes(32 * rowScanRows)
			for b.Loop() {
				if err := c.op(tb); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if err := tb.Truncate(0); err != nil {
					b.Fatal(err)
				}
				if err := tb.AppendRows(rs); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}

// BenchmarkReaderMeta: Meta on a reader beside a running writer, with no
// Sync between two calls (the READERS page says so, and the meta read last
// is returned) and with a logged Sync before each call (COMMIT and the log
// are read; the Sync itself is not timed).
func BenchmarkReaderMeta(b *testing.B) {
	for _, between := range []bool{false, true} {
		b.Run(fmt.Sprintf("sync-between=%v", between), func(b *testing.B) {
			dir := filepath.Join(b.TempDir(), "t")
			w := openBench[Event](b, dir)
			if err := w.Append(Event{ID: 1}); err != nil {
				b.Fatal(err)
			}
			if err := w.SyncMeta([]byte("tick 0")); err != nil {
				b.Fatal(err)
			}
			r, err := table.Open[Event](dir, &table.Options{ReadOnly: true})
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			for i := 0; b.Loop(); i++ {
				if between {
					b.StopTimer()
					if err := w.SyncMeta(strconv.AppendInt([]byte("tick "), int64(i), 10)); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
				if len(r.Meta()) == 0 {
					b.Fatal("no meta")
				}
			}
		})
	}
}
