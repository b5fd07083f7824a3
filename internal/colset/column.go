// Package colset holds a table's columns: each a named column file
// (colfile.File) whose length is the table's row count, published in one
// word that the set shares with every column view. The set owns the files,
// that length and the capacity, with one way to grow, one to publish a row
// count and one to flush.
package colset

import (
	"fmt"
	"sync/atomic"
	"unsafe"

	"github.com/mmapvec/persistence/internal/colfile"
	"github.com/mmapvec/persistence/internal/layout"
)

// ClosedLength, stored into the shared length, marks the set closed: Len
// is 0 from then on, and element access panics saying the table is closed
// rather than reporting an index out of range. One atomic word carries
// both, so a reader never sees a length with a closed file.
const ClosedLength = -1

// Column is one named column file of a set.
type Column struct {
	name   string
	file   *colfile.File
	length *lengthWord // the set's published row count
}

// lengthWord is a set's published row count: stored by its one writer,
// loaded atomically by views in any goroutine.
type lengthWord struct {
	_ [0]atomic.Int64 // 8-byte alignment for atomics on 32-bit platforms too
	v uint64
}

func (w *lengthWord) Load() int64   { return int64(atomic.LoadUint64(&w.v)) }
func (w *lengthWord) Store(n int64) { atomic.StoreUint64(&w.v, uint64(n)) }
func (w *lengthWord) publish(n int) { storeRelease(&w.v, uint64(n)) } // Append's path

// Name returns the column's name.
func (c *Column) Name() string { return c.name }

// File returns the column's file.
func (c *Column) File() *colfile.File { return c.file }

// Len returns the number of elements (the published length); 0 once the
// set is closed.
func (c *Column) Len() int { return int(max(c.length.Load(), 0)) }

// Closed reports whether the column's set was closed.
func (c *Column) Closed() bool { return c.length.Load() == ClosedLength }

// ElemSize returns the element size in bytes.
func (c *Column) ElemSize() int { return c.file.ElemSize() }

// Layout returns the element layout.
func (c *Column) Layout() layout.Layout { return c.file.Layout() }

// ElemBytes returns element i's bytes as a live view (no bounds check
// beyond the capacity; callers check against their row count). It panics
// once the set is closed: the file is no longer mapped.
func (c *Column) ElemBytes(i int) []byte {
	if c.Closed() {
		c.outOfRange("ElemBytes", i, 0)
	}
	es := c.file.ElemSize()
	return unsafe.Slice((*byte)(unsafe.Add(c.file.Data(), i*es)), es)
}

// OutOfRange panics for an element index i outside [0, n), as outOfRange,
// for the views of other packages.
func (c *Column) OutOfRange(op string, i, n int) { c.outOfRange(op, i, n) }

// outOfRange panics for an element index i outside [0, n): with "closed"
// once the set is closed, where every index is out of range.
func (c *Column) outOfRange(op string, i, n int) {
	if c.Closed() {
		panic(fmt.Sprintf("column %q: %s on a closed table", c.name, op))
	}
	panic(fmt.Sprintf("column %q: %s: index out of range [%d] with length %d", c.name, op, i, n))
}
