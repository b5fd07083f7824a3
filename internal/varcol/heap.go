// Package varcol keeps the values of a table's variable-length columns:
// the heap of bytes that string and bytes values are appended to, and the
// append-only dictionary of a symbol column. A row's element in the column
// file (a [Span], or a symbol's uint32 code) says where its value is; this
// package owns the files the elements point into, and the checks that an
// element read from a file points at nothing but its value.
package varcol

import (
	"unsafe"

	"github.com/mmapvec/persistence/internal/colfile"
	"github.com/mmapvec/persistence/internal/errs"
	"github.com/mmapvec/persistence/internal/layout"
)

// Span is a string or bytes column's element: its value is bytes
// [Start, End) of the column's heap. The zero Span is the empty value.
type Span struct {
	Start, End uint64
}

// ByteLayout is the element layout of a heap file: single bytes.
var ByteLayout = layout.Layout{Size: 1, Align: 1, Leaves: []layout.Leaf{{Kind: "uint8", Size: 1}}}

// OffsetLayout is the element layout of a dictionary's offsets file.
var OffsetLayout = layout.Layout{Size: 8, Align: 8, Leaves: []layout.Leaf{{Kind: "uint64", Size: 8}}}

// Heap is the bytes file of a string or bytes column. Values are appended
// at its frontier (the file's length) and never overwritten while a row
// may point at them: a row changed in place points at new bytes, and the
// old ones stay, unreferenced, until the table is compacted. So a value
// committed by a Sync is never torn by a later change.
type Heap struct {
	f *colfile.File
}

// NewHeap wraps an open heap file.
func NewHeap(f *colfile.File) *Heap { return &Heap{f: f} }

// File returns the heap's file.
func (h *Heap) File() *colfile.File { return h.f }

// Len returns the frontier: bytes appended so far, garbage included.
func (h *Heap) Len() int { return h.f.Len() }

// Reserve makes room for n more bytes past the frontier. Growth maps the
// file at a new place; earlier views stay valid until Close.
func (h *Heap) Reserve(n int) error {
	if n <= h.f.Cap()-h.f.Len() {
		return nil
	}
	return h.f.EnsureCap(h.f.Len() + n)
}

// Put copies b to the frontier, which must have room ([Heap.Reserve]),
// without publishing it: several values may be put before one
// [Heap.Publish]. It returns b's span.
func (h *Heap) Put(at int, b []byte) Span {
	if len(b) == 0 {
		return Span{}
	}
	copy(unsafe.Slice((*byte)(unsafe.Add(h.f.Data(), at)), len(b)), b)
	return Span{uint64(at), uint64(at + len(b))}
}

// Publish sets the frontier to n, past every value put: a plain store into
// the mapped header, made before any row that points at the values is
// published, so that recovery after a crash of the process finds every
// published row's bytes below the frontier.
func (h *Heap) Publish(n int) { h.f.Publish(n) }

// WriteAt writes b at byte offset at with pwrite, for large batches (no
// page fault per page); the room must be reserved.
func (h *Heap) WriteAt(b []byte, at int) error { return h.f.WriteAt(b, at) }

// Bytes returns the bytes of s as a live view into the mapping, or nil if s
// is not a span of the mapped heap (start past end, or end past what is
// mapped): a damaged element, or one a writer in another process changed
// past what this reader maps, reads as empty and never faults.
func (h *Heap) Bytes(s Span) []byte {
	p, n := h.f.Mapped()
	if s.Start >= s.End || s.End > uint64(n) {
		return nil // also once closed: n is 0
	}
	return unsafe.Slice((*byte)(unsafe.Add(p, s.Start)), s.End-s.Start)
}

// mapped returns the current mapping's first byte and how many bytes it
// covers (nil and 0 once closed).
func (h *Heap) mapped() (unsafe.Pointer, uint64) {
	p, n := h.f.Mapped()
	return p, uint64(n)
}

// String is [Heap.Bytes] as a string, sharing the mapping's memory.
func (h *Heap) String(s Span) string {
	b := h.Bytes(s)
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// CheckSpans checks the spans of rows [from, to) against a heap of n
// bytes: each starts at or before its end, and ends within the heap. It
// returns the first bad row, or -1.
func CheckSpans(spans []Span, from int, n uint64) int {
	for i := from; i < len(spans); i++ {
		s := spans[i]
		if s.Start > s.End || s.End > n {
			return i
		}
	}
	return -1
}

// SpanError describes a span that CheckSpans refused.
func SpanError(path string, row int, s Span, n uint64) error {
	if s.Start > s.End {
		return errs.File(path, errs.ErrCorrupt, "row %d: the value's offsets decrease (start %d, end %d)", row, s.Start, s.End)
	}
	return errs.File(path, errs.ErrCorrupt, "row %d: the value's end offset %d lies past the %d bytes of its heap", row, s.End, n)
}

// Spans returns the first n elements of a string column's file as spans.
// The caller has checked that the file holds them.
func Spans(f *colfile.File, n int) []Span {
	if n == 0 || f.Data() == nil {
		return nil
	}
	return unsafe.Slice((*Span)(f.Data()), n)
}

// Codes returns the first n elements of a symbol column's file as codes.
func Codes(f *colfile.File, n int) []uint32 {
	if n == 0 || f.Data() == nil {
		return nil
	}
	return unsafe.Slice((*uint32)(f.Data()), n)
}

// CheckLen checks that a heap's frontier (or a dictionary's count) n
// lies within its file.
func CheckLen(f *colfile.File, n int, what string) error {
	if n < 0 || n > f.Cap() {
		return errs.File(f.Path(), errs.ErrLengthBeyondFile, "%s %d, the file holds %d", what, n, f.Cap())
	}
	return nil
}

// SpanBytes returns spans as their bytes in memory, for a write to a file.
func SpanBytes(spans []Span) []byte {
	if len(spans) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&spans[0])), len(spans)*int(unsafe.Sizeof(Span{})))
}
