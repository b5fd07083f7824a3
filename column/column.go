package column

import (
	"iter"

	"github.com/mmapvec/persistence/internal/colset"
)

// Of is a typed view of one column of a table: element i of the column is
// Slice()[i]. Views come from the table package (table.Column, table.Col).
//
// Any number of goroutines may read through views while one goroutine
// appends to the table; a reader sees the rows published before its Len or
// Slice call.
type Of[T any] colset.View[T]

func (o *Of[T]) v() *colset.View[T] { return (*colset.View[T])(o) }

// Name returns the column's name.
func (o *Of[T]) Name() string { return o.v().Name() }

// Len returns the number of elements; 0 after the table's Close.
func (o *Of[T]) Len() int { return o.v().Len() }

// Slice returns the column as a live []T backed by the file, valid across
// growth until the table is closed. Its length is Len at the time of the
// call; after Close it is nil.
func (o *Of[T]) Slice() []T { return o.v().Slice() }

// Get returns element i; it panics if i is out of range, like a slice, and
// after the table is closed (saying so).
func (o *Of[T]) Get(i int) T { return o.v().Get(i) }

// Set stores x at i in place; it panics if i is out of range, if the table
// is read-only, and after the table is closed.
func (o *Of[T]) Set(i int, x T) { o.v().Set(i, x) }

// All iterates over the elements present when it starts.
func (o *Of[T]) All() iter.Seq2[int, T] { return o.v().All() }
