package bench

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
