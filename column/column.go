package column

import (
	"errors"
	"fmt"
	"iter"
	"reflect"
	"sync/atomic"
	"unsafe"

	"github.com/mmapvec/persistence/mmap"
)

// ErrType is returned when a typed view asks for a type other than the
// column's.
var ErrType = errors.New("column: element type mismatch")

// Column is one named column file.
type Column struct {
	name   string
	raw    *mmap.Raw
	length *atomic.Int64 // published row count, shared by a table's columns
}

// ClosedLength, stored into the length a column was made with, marks it
// closed: its Len is 0 from then on, and element access panics saying the
// table is closed rather than reporting an index out of range. One atomic
// word carries both, so a reader never sees a length with a closed file.
const ClosedLength = -1

// New wraps an open column file whose length is published in length: the
// writer stores it (atomically) after the elements below it are written,
// and views read it, so goroutines may read a column while one appends.
// The owner stores [ClosedLength] before it closes the file.
func New(name string, raw *mmap.Raw, length *atomic.Int64) *Column {
	return &Column{name: name, raw: raw, length: length}
}

// Name returns the column's name.
func (c *Column) Name() string { return c.name }

// Raw returns the column's file.
func (c *Column) Raw() *mmap.Raw { return c.raw }

// Len returns the number of elements (the published length); 0 once the
// table is closed.
func (c *Column) Len() int { return int(max(c.length.Load(), 0)) }

// Closed reports whether the column's table was closed.
func (c *Column) Closed() bool { return c.length.Load() == ClosedLength }

// outOfRange panics for an element index i outside [0, n): with "closed"
// once the table is closed, where every index is out of range.
func (c *Column) outOfRange(op string, i, n int) {
	if c.Closed() {
		panic(fmt.Sprintf("column %q: %s on a closed table", c.name, op))
	}
	panic(fmt.Sprintf("column %q: %s: index out of range [%d] with length %d", c.name, op, i, n))
}

// ElemSize returns the element size in bytes.
func (c *Column) ElemSize() int { return c.raw.ElemSize() }

// Layout returns the element layout.
func (c *Column) Layout() mmap.Layout { return c.raw.Layout() }

// ElemBytes returns element i's bytes as a live view (no bounds check
// beyond the capacity; callers check against their row count). It panics
// once the table is closed: the file is no longer mapped.
func (c *Column) ElemBytes(i int) []byte {
	if c.Closed() {
		c.outOfRange("ElemBytes", i, 0)
	}
	es := c.raw.ElemSize()
	return unsafe.Slice((*byte)(unsafe.Add(c.raw.Data(), i*es)), es)
}

// Of is a typed view of a column: element i of the column is Slice()[i].
// Any number of goroutines may read through views while one goroutine
// appends to the table; a reader sees the rows published before its Len or
// Slice call.
type Of[T any] struct {
	col *Column
}

// View returns a typed view of c. T must have exactly the column's layout
// (size, alignment and fields): anything else is an [ErrType] error, never a
// silent cast.
func View[T any](c *Column) (*Of[T], error) {
	l, err := mmap.LayoutOf(reflect.TypeFor[T]())
	if err != nil {
		return nil, err
	}
	if !l.Equal(c.Layout()) {
		return nil, fmt.Errorf("%w: column %q holds %s, asked for %s (%s)", ErrType, c.name, c.Layout(), reflect.TypeFor[T](), l)
	}
	return &Of[T]{col: c}, nil
}

// Column returns the viewed column.
func (o *Of[T]) Column() *Column { return o.col }

// Len returns the number of elements.
func (o *Of[T]) Len() int { return o.col.Len() }

// Slice returns the column as a live []T backed by the file, valid across
// growth until the table is closed. Its length is Len at the time of the
// call; after Close it is nil.
func (o *Of[T]) Slice() []T {
	// The length first, then the mapping: the writer maps a grown file
	// before it publishes a length past the old mapping, so a mapping
	// loaded after the length always covers it.
	n := o.col.Len()
	if n == 0 {
		return nil // also after Close
	}
	return unsafe.Slice((*T)(o.col.raw.Data()), n)
}

// Get returns element i; it panics if i is out of range, like a slice, and
// after the table is closed (saying so).
func (o *Of[T]) Get(i int) T {
	s := o.Slice()
	if uint(i) >= uint(len(s)) {
		o.col.outOfRange("Get", i, len(s))
	}
	return s[i]
}

// Set stores x at i in place; it panics if i is out of range, if the table
// is read-only, and after the table is closed.
func (o *Of[T]) Set(i int, x T) {
	s := o.Slice()
	if uint(i) >= uint(len(s)) {
		o.col.outOfRange("Set", i, len(s))
	}
	if o.col.raw.ReadOnly() {
		panic(fmt.Sprintf("column %q: Set on a read-only table", o.col.name))
	}
	s[i] = x
}

// All iterates over the elements present when it starts.
func (o *Of[T]) All() iter.Seq2[int, T] {
	return func(yield func(int, T) bool) {
		for i, x := range o.Slice() {
			if !yield(i, x) {
				return
			}
		}
	}
}
