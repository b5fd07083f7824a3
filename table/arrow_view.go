package table

import (
	"fmt"
	"sort"
	"unsafe"

	"github.com/mmapvec/persistence"
	"github.com/mmapvec/persistence/internal/colfile"
)

// ColumnMemory is a column's stored memory, as [Table.Memory] returns it:
// read-only views into the table's mappings, for code that hands a
// column's bytes to another system without a copy (Arrow buffers). Like a
// slice from a column view, they stay valid until the table's Close, and
// they must never be written to: they are the table's files.
type ColumnMemory struct {
	// Spec is the column's entry in the manifest.
	Spec persistence.ColumnSpec
	// Elems holds the rows' elements back to back, Spec.Layout.Size bytes
	// each, in this machine's byte order: the values of a fixed-size
	// column; a string or bytes column's [start, end) uint64 offsets into
	// Heap; a symbol column's uint32 codes.
	Elems []byte
	// Heap is a string or bytes column's heap, and a symbol column's
	// dictionary bytes; nil for a fixed-size column. Every row in Elems
	// points inside it, but, on a reader, a value the writer set in place
	// since the heap's file grew past the reader's mapping.
	Heap []byte
	// Ends is a symbol column's dictionary: entry c-1 (code c) is
	// Heap[Ends[c-2]:Ends[c-1]] (from 0 for c = 1); code 0 is "". Every
	// code in Elems is at most len(Ends), with the exception Heap has.
	Ends []uint64
}

// Memory returns the memory of the named column (its manifest name or Go
// field name) for rows [0, rows), which must lie within [Table.Len] (an
// [ErrRange] error otherwise). It works on a table of any row type, [Any]
// included, and costs no copy and no allocation.
//
// A reader that takes it inside [Table.Consistent] gets the rows of one
// state of the table. Rows the writer appends later never change what it
// covers; a change in place (SetRow, SwapRemove, Delete, writes through
// column views) shows in Elems as it lands, as in a column view's slice,
// and a new value it writes lies past Heap and Ends (call Memory again).
func (t *core) Memory(column string, rows int) (ColumnMemory, error) {
	if err := t.check(false); err != nil {
		return ColumnMemory{}, err
	}
	c, ok := t.spec(column)
	if !ok {
		return ColumnMemory{}, fmt.Errorf("%w: %q in %s (columns: %s)", ErrNoColumn, column, t.dir, t.columnNames())
	}
	if rows < 0 || rows > t.rows {
		return ColumnMemory{}, fmt.Errorf("%w: Memory(%q, %d) with length %d", ErrRange, column, rows, t.rows)
	}
	m := ColumnMemory{Spec: c}
	if col := t.colByName(c.Name); rows > 0 {
		m.Elems = unsafe.Slice((*byte)(col.File().Data()), rows*col.ElemSize())
	}
	if !c.Variable() {
		return m, nil
	}
	v := t.varByName(c.Name)
	if v.dict != nil {
		offs, bytes := v.dict.Files()
		m.Heap = mapped(bytes.Data(), published(bytes))
		if n := published(offs); n > 0 {
			ends := unsafe.Slice((*uint64)(offs.Data()), n)
			// A reader may map fewer of the entries' bytes than their
			// published ends say (the writer added symbols since it
			// followed the dictionary): only entries whose bytes it maps.
			// Every code of the rows it shows is among them.
			n = sort.Search(n, func(i int) bool { return ends[i] > uint64(len(m.Heap)) })
			m.Ends = ends[:n:n]
		}
		return m, nil
	}
	f := v.heap.File()
	m.Heap = mapped(f.Data(), published(f))
	return m, nil
}

// published returns how many elements of a heap or dictionary file hold
// published values: for a reader, what its writer published last (a value
// set in place is published before a row points at it, with no new row
// count to make a Refresh take it in), within what the reader maps.
func published(f *colfile.File) int {
	n := f.Len()
	if live, ok := f.LiveLen(); ok && live > n {
		n = live
	}
	_, size := f.Mapped()
	return min(n, size/f.ElemSize())
}

// mapped returns the first n bytes at p, nil for none.
func mapped(p unsafe.Pointer, n int) []byte {
	if n == 0 || p == nil {
		return nil
	}
	return unsafe.Slice((*byte)(p), n)
}
