package bench

import (
	"fmt"
	"os"
	"path/filepath"
)

// The scan kernels are shared by every contender that exposes a Go slice, so
// a difference in speed can only come from the memory behind the slice.

//go:noinline
func SumInt64(s []int64) int64 {
	var t int64
	for _, v := range s {
		t += v
	}
	return t
}

//go:noinline
func SumFloat64(s []float64) float64 {
	var t float64
	for _, v := range s {
		t += v
	}
	return t
}

// Scanner sums the ID and Value columns of n rows.
type Scanner interface {
	Sum() (int64, float64)
}

// HeapScan is the baseline: the two columns as ordinary heap slices.
type HeapScan struct {
	IDs    []int64
	Values []float64
}

func NewHeapScan(n int) *HeapScan {
	h := &HeapScan{IDs: make([]int64, n), Values: make([]float64, n)}
	for i := range n {
		r := MakeRow(i)
		h.IDs[i], h.Values[i] = r.ID, r.Value
	}
	return h
}

func (h *HeapScan) Sum() (int64, float64) {
	return SumInt64(h.IDs), SumFloat64(h.Values)
}

// ExpectedSums are the sums of rows [0, n) computed row by row, the oracle for tests.
func ExpectedSums(n int) (int64, float64) {
	var a int64
	var b float64
	for i := range n {
		r := MakeRow(i)
		a += r.ID
		b += r.Value
	}
	return a, b
}

// ScanWorkload sums two columns of ScanRows rows: through the table's live
// slices, over heap slices, and with Arrow's kernels over a mapped IPC file.
func ScanWorkload(c Config) *Workload {
	n := c.ScanRows
	var dir string
	var tab *Table
	var heap *HeapScan
	var arrow *ArrowScan
	wantI, wantF := ExpectedSums(n)
	check := func(s Scanner) func() error {
		return func() error {
			if i, f := s.Sum(); i != wantI || f != wantF {
				return fmt.Errorf("sums %d, %g; want %d, %g", i, f, wantI, wantF)
			}
			return nil
		}
	}
	bytes := float64(n * 16)
	return &Workload{
		Name: "Scan", Size: "rows=" + sizeName(n), Unit: PerByte, Lib: "table Slice()",
		Notes: []string{"Sums the int64 ID and float64 Value columns; warm page cache, so this compares the memory behind the slices."},
		Setup: func() (err error) {
			dir, err = TempDir("scan")
			return err
		},
		Teardown: func() error { return os.RemoveAll(dir) },
		Cases: []*Case{
			{Name: "table Slice()", Units: bytes,
				Setup: func() (err error) {
					if tab, err = OpenTable(filepath.Join(dir, "table")); err != nil {
						return err
					}
					if err := fillTable(tab, n); err != nil {
						return err
					}
					return check(tab)()
				},
				Run:      func() error { tab.Sum(); return nil },
				Teardown: closer(&tab)},
			{Name: "heap slices", Units: bytes,
				Setup:    func() error { heap = NewHeapScan(n); return check(heap)() },
				Run:      func() error { heap.Sum(); return nil },
				Teardown: func() error { heap = nil; return nil }},
			{Name: "Arrow math.Sum (mmap IPC)", Units: bytes,
				Setup: func() (err error) {
					p := filepath.Join(dir, "rows.arrow")
					if err := WriteArrowFile(p, n); err != nil {
						return err
					}
					if arrow, err = OpenArrowScan(p); err != nil {
						return err
					}
					return check(arrow)()
				},
				Run:      func() error { arrow.Sum(); return nil },
				Teardown: closer(&arrow)},
		},
		Goals: []Goal{FasterThan("scan ≥ 0.95x heap", "heap slices", 0.95)},
	}
}
