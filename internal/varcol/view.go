package varcol

import (
	"iter"
	"runtime"
	"sync"
	"unsafe"

	"github.com/mmapvec/persistence/internal/colset"
)

// StringView is a view of a string or bytes column; the public
// column.Strings is this type with its methods.
type StringView struct {
	col  *colset.Column
	heap *Heap
}

// NewStringView returns the view of a string or bytes column whose
// elements point into heap.
func NewStringView(col *colset.Column, heap *Heap) *StringView {
	return &StringView{col: col, heap: heap}
}

// Name returns the column's name.
func (v *StringView) Name() string { return v.col.Name() }

// Len returns the number of rows; 0 after Close.
func (v *StringView) Len() int { return v.col.Len() }

// spans returns the elements of the rows present now.
func (v *StringView) spans() []Span { return Spans(v.col.File(), v.col.Len()) }

// Bytes returns row i's value as a view into the mapping, panicking like a
// slice index when i is out of range.
func (v *StringView) Bytes(i int) []byte {
	s := v.spans()
	if uint(i) >= uint(len(s)) {
		v.col.OutOfRange("Bytes", i, len(s))
	}
	return v.heap.Bytes(s[i])
}

// String is Bytes as a string sharing the mapping.
func (v *StringView) String(i int) string {
	b := v.Bytes(i)
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// All iterates over the rows present when it starts. The heap's mapping
// of that moment covers their values (a writer maps growth before it
// publishes rows, and earlier mappings stay until Close), so it is loaded
// once; it stops early if the loop body closes the table.
func (v *StringView) All() iter.Seq2[int, string] {
	return func(yield func(int, string) bool) {
		spans := v.spans()
		base, size := v.heap.mapped()
		for i, s := range spans {
			var x string
			if s.Start < s.End && s.End <= size {
				x = unsafe.String((*byte)(unsafe.Add(base, s.Start)), s.End-s.Start)
			}
			if !yield(i, x) || v.col.Closed() {
				return
			}
		}
	}
}

// TotalLen returns the summed length of every value present now. The
// elements were checked when the table opened or took the rows in (each
// start at or before its end), so the sum needs no test per row: four
// independent sums over the ends and the starts keep the loop at the
// memory's speed.
func (v *StringView) TotalLen() int { return parallel(v.spans(), sumLengths) }

// parallelBlock is the fewest elements a goroutine of parallel takes: below
// it, starting one costs more than its share of the scan saves.
const parallelBlock = 1 << 18

// parallel sums f over contiguous blocks of xs in up to GOMAXPROCS
// goroutines: a long scan is bound by one core's memory bandwidth, which
// each other core adds to.
func parallel[T any](xs []T, f func([]T) int) int {
	k := min(runtime.GOMAXPROCS(0), len(xs)/parallelBlock)
	if k <= 1 {
		return f(xs)
	}
	sums := make([]int, k)
	var wg sync.WaitGroup
	per := (len(xs) + k - 1) / k
	for j := 1; j < k; j++ {
		wg.Go(func() { sums[j] = f(xs[j*per : min(len(xs), (j+1)*per)]) })
	}
	sums[0] = f(xs[:per])
	wg.Wait()
	total := 0
	for _, x := range sums {
		total += x
	}
	return total
}

// sumLengths is the summed length of spans whose starts are at or before
// their ends.
func sumLengths(spans []Span) int {
	var e0, e1, s0, s1 uint64
	i := 0
	for ; i+2 <= len(spans); i += 2 {
		a, b := spans[i], spans[i+1]
		e0 += a.End
		s0 += a.Start
		e1 += b.End
		s1 += b.Start
	}
	for ; i < len(spans); i++ {
		e0 += spans[i].End
		s0 += spans[i].Start
	}
	return int((e0 + e1) - (s0 + s1))
}

// SymbolView is a view of a symbol column; the public column.Symbols is
// this type with its methods.
type SymbolView struct {
	col  *colset.Column
	dict *Dict
}

// NewSymbolView returns the view of a symbol column with dictionary dict.
func NewSymbolView(col *colset.Column, dict *Dict) *SymbolView {
	return &SymbolView{col: col, dict: dict}
}

// Name returns the column's name.
func (v *SymbolView) Name() string { return v.col.Name() }

// Len returns the number of rows; 0 after Close.
func (v *SymbolView) Len() int { return v.col.Len() }

func (v *SymbolView) codes() []uint32 { return Codes(v.col.File(), v.col.Len()) }

// Code returns row i's code, panicking like a slice index when i is out of
// range.
func (v *SymbolView) Code(i int) uint32 {
	c := v.codes()
	if uint(i) >= uint(len(c)) {
		v.col.OutOfRange("Code", i, len(c))
	}
	return c[i]
}

// String returns row i's value, sharing the mapping.
func (v *SymbolView) String(i int) string { return v.dict.String(v.Code(i)) }

// Lookup returns the code of s, and whether the dictionary holds it.
func (v *SymbolView) Lookup(s string) (uint32, bool) { return v.dict.Lookup(s) }

// Value returns the value of a code ("" for 0 and for codes it does not
// hold).
func (v *SymbolView) Value(code uint32) string { return v.dict.String(code) }

// Symbols returns the number of distinct non-empty values: codes 1 to it.
func (v *SymbolView) Symbols() int { return v.dict.Len() }

// Count returns how many rows present now hold code.
func (v *SymbolView) Count(code uint32) int {
	return parallel(v.codes(), func(codes []uint32) int { return countCode(codes, code) })
}

// countCode counts the elements of codes equal to code.
func countCode(codes []uint32, code uint32) int {
	n := 0
	for _, c := range codes {
		if c == code {
			n++
		}
	}
	return n
}

// All iterates over the rows present when it starts: index and code. It
// stops early if the loop body closes the table.
func (v *SymbolView) All() iter.Seq2[int, uint32] {
	return func(yield func(int, uint32) bool) {
		for i, c := range v.codes() {
			if !yield(i, c) || v.col.Closed() {
				return
			}
		}
	}
}
