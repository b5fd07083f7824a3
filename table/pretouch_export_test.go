package table

import "time"

// Pretouching reports whether t runs a pretoucher.
func Pretouching[R any](t *Table[R]) bool { return t.pre != nil }

// PretouchWait waits up to d for t's pretoucher to have touched the pages
// of the rows below n in every column (up to their capacity); false on
// timeout or without a pretoucher.
func PretouchWait[R any](t *Table[R], n int, d time.Duration) bool {
	if t.pre == nil {
		return false
	}
	limit := min(n, t.set.MinCap())
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(time.Millisecond) {
		if int(t.pre.reached.Load()) >= limit {
			return true
		}
	}
	return false
}

// PretouchWindow is how many rows past the end t's pretoucher keeps
// touched at most (0 without one).
func PretouchWindow[R any](t *Table[R]) int {
	if t.pre == nil {
		return 0
	}
	return t.pre.full
}

// Reserve grows t's columns to hold n rows; it nudges the pretoucher, as
// every growth does.
func Reserve[R any](t *Table[R], n int) error { return t.grow(n) }
