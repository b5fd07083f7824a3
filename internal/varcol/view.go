package varcol

import (
	"iter"
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

// All iterates over the rows present when it starts.
func (v *StringView) All() iter.Seq2[int, string] {
	return func(yield func(int, string) bool) {
		for i, s := range v.spans() {
			if !yield(i, v.heap.String(s)) {
				return
			}
		}
	}
}

// TotalLen returns the summed length of every value present now.
func (v *StringView) TotalLen() int {
	n := 0
	for _, s := range v.spans() {
		if s.End > s.Start {
			n += int(s.End - s.Start)
		}
	}
	return n
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
	n := 0
	for _, c := range v.codes() {
		if c == code {
			n++
		}
	}
	return n
}

// All iterates over the rows present when it starts: index and code.
func (v *SymbolView) All() iter.Seq2[int, uint32] {
	return func(yield func(int, uint32) bool) {
		for i, c := range v.codes() {
			if !yield(i, c) {
				return
			}
		}
	}
}
