package colset

import (
	"fmt"
	"iter"
	"reflect"
	"unsafe"

	"github.com/mmapvec/persistence/internal/errs"
	"github.com/mmapvec/persistence/internal/layout"
)

// View is a typed view of a column; the public column.Of is this type with
// its methods, so that users reach the column only through them.
type View[T any] struct {
	col *Column
	ro  bool // slices come from the file's read-only mapping
}

// NewView returns a typed view of c. T must have exactly the column's
// layout (size, alignment and fields): anything else is an
// [errs.ErrElemType] error, never a silent cast.
func NewView[T any](c *Column) (*View[T], error) {
	l, err := layout.For[T]()
	if err != nil {
		return nil, err
	}
	if !l.Equal(c.Layout()) {
		return nil, fmt.Errorf("%w: column %q holds %s, asked for %s (%s)", errs.ErrElemType, c.name, c.Layout(), reflect.TypeFor[T](), l)
	}
	return &View[T]{col: c}, nil
}

// NewReadOnlyView is [NewView] whose slices come from the file's read-only
// mapping: a store through one faults, and Set panics.
func NewReadOnlyView[T any](c *Column) (*View[T], error) {
	v, err := NewView[T](c)
	if err != nil {
		return nil, err
	}
	if err := c.file.MapReadOnly(); err != nil {
		return nil, err
	}
	v.ro = true
	return v, nil
}

// Name returns the column's name.
func (v *View[T]) Name() string { return v.col.name }

// Len returns the number of elements.
func (v *View[T]) Len() int { return v.col.Len() }

// Slice returns the live []T.
func (v *View[T]) Slice() []T {
	// The length first, then the mapping: the writer maps a grown file
	// before it publishes a length past the old mapping, so a mapping
	// loaded after the length always covers it.
	n := v.col.Len()
	if n == 0 {
		return nil // also after Close
	}
	if v.ro {
		return unsafe.Slice((*T)(v.col.file.ReadOnlyData()), n)
	}
	return unsafe.Slice((*T)(v.col.file.Data()), n)
}

// Get returns element i, panicking like a slice index.
func (v *View[T]) Get(i int) T {
	s := v.Slice()
	if uint(i) >= uint(len(s)) {
		v.col.outOfRange("Get", i, len(s))
	}
	return s[i]
}

// Set stores x at i, panicking if i is out of range or the column is
// read-only or closed.
func (v *View[T]) Set(i int, x T) {
	s := v.Slice()
	if uint(i) >= uint(len(s)) {
		v.col.outOfRange("Set", i, len(s))
	}
	if v.col.file.ReadOnly() {
		panic(fmt.Sprintf("column %q: Set on a read-only table", v.col.name))
	}
	if v.ro {
		panic(fmt.Sprintf("column %q: Set through a read-only view (table.ReadColumn)", v.col.name))
	}
	s[i] = x
}

// All iterates over the elements present when it starts. It stops early
// if the loop body closes the table: the mapping is gone then.
func (v *View[T]) All() iter.Seq2[int, T] {
	return func(yield func(int, T) bool) {
		for i, x := range v.Slice() {
			if !yield(i, x) || v.col.Closed() {
				return
			}
		}
	}
}
