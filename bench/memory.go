package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// heapDelta runs f and returns how much one MemStats figure grew while it
// held its data, starting from a collected heap.
func heapDelta(f func() (release func(), err error), field func(*runtime.MemStats) uint64) (float64, error) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	release, err := f()
	runtime.ReadMemStats(&after)
	if release != nil {
		release()
	}
	return float64(field(&after)) - float64(field(&before)), err
}

func heapInuse(m *runtime.MemStats) uint64 { return m.HeapInuse }
func heapAlloc(m *runtime.MemStats) uint64 { return m.HeapAlloc }

// MemoryWorkload measures the Go heap taken while a large table is open and
// both scanned columns have been read, against holding the rows on the heap.
func MemoryWorkload(c Config) *Workload {
	n := c.LargeBytes / RowSize
	var dir string
	wantI, wantF := ExpectedSums(n)
	tableScan := func() (func(), error) {
		t, err := OpenTable(filepath.Join(dir, "table"))
		if err != nil {
			return nil, err
		}
		if i, f := t.Sum(); i != wantI || f != wantF {
			t.Close()
			return nil, fmt.Errorf("sums %d, %g; want %d, %g", i, f, wantI, wantF)
		}
		return func() { t.Close() }, nil
	}
	heapRows := func() (func(), error) {
		sink = MakeRows(0, n)
		return func() { sink = nil }, nil
	}
	const lib = "table open+scan HeapInuse Δ"
	return &Workload{
		Name: "Memory", Size: bytesName(c.LargeBytes), Unit: Bytes, Lib: lib, Reps: 3,
		Notes: []string{"Go heap growth from a collected heap to the moment the scan ends; the mapped file is not Go heap."},
		Setup: func() (err error) {
			if dir, err = TempDir("memory"); err != nil {
				return err
			}
			t, err := OpenTable(filepath.Join(dir, "table"))
			if err != nil {
				return err
			}
			err = fillTable(t, n)
			if cerr := t.Close(); err == nil {
				err = cerr
			}
			return err
		},
		Teardown: func() error { return os.RemoveAll(dir) },
		Cases: []*Case{
			{Name: lib, Probe: func() (float64, error) { return heapDelta(tableScan, heapInuse) }},
			{Name: "table open+scan HeapAlloc Δ", Self: true, Probe: func() (float64, error) { return heapDelta(tableScan, heapAlloc) }},
			{Name: "rows on the heap HeapInuse Δ", Probe: func() (float64, error) { return heapDelta(heapRows, heapInuse) }},
		},
		Goals: []Goal{{
			Text: "heap in use ≤ 1 MiB with " + bytesName(c.LargeBytes) + " open and scanned",
			Eval: func(r *Result) (string, bool) {
				v := r.Median(lib)
				return fmt.Sprintf("%s (goal 1 MiB)", iec(v)), v <= 1<<20
			},
		}},
	}
}
