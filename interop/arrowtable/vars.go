package arrowtable

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/mmapvec/persistence/table"
)

// span returns row i's [start, end) in a string column's elements.
func span(elems []byte, i int) (start, end uint64) {
	e := elems[i*16 : i*16+16]
	return binary.NativeEndian.Uint64(e), binary.NativeEndian.Uint64(e[8:])
}

// fitStrings returns how many of the rows from lo, up to hi, a string
// column holds within the 2 GiB that Arrow's int32 offsets address.
func fitStrings(m table.ColumnMemory, lo, hi int) int {
	var total uint64
	for i := lo; i < hi; i++ {
		s, e := span(m.Elems, i)
		if e > s {
			total += e - s
		}
		if total > math.MaxInt32 {
			return i
		}
	}
	return hi
}

// stringData builds rows [lo, hi) of a string or bytes column: offsets
// made from the spans, and as data the heap itself when the rows' values
// lie back to back in it (a column appended in row order), a copy
// otherwise (rows changed by SetRow or moved by a removal).
func (b *builder) stringData(dt arrow.DataType, m table.ColumnMemory, lo, hi int) (arrow.ArrayData, error) {
	n := hi - lo
	offsets := b.alloc(4 * (n + 1))
	offs := arrow.Int32Traits.CastFromBytes(offsets.Bytes())
	heap := uint64(len(m.Heap))
	first, last := uint64(0), uint64(0) // the values' extent in the heap
	dense, seen := true, false
	var total uint64
	for i := lo; i < hi; i++ {
		s, e := span(m.Elems, i)
		if s > e || e > heap {
			return nil, fmt.Errorf("%w: column %q row %d: value [%d, %d) outside the %d bytes of its heap", ErrCorrupt, m.Spec.Name, i, s, e, heap)
		}
		if e > s {
			switch {
			case !seen:
				first, seen = s, true
			case s != last:
				dense = false
			}
			last = e
			total += e - s
		}
		offs[i-lo+1] = int32(total)
	}
	if dense {
		b.shared += int(total)
		return b.data(dt, n, []*memory.Buffer{nil, offsets, memory.NewBufferBytes(m.Heap[first:last:last])}, nil), nil
	}
	data := b.alloc(int(total))
	dst := data.Bytes()[:0]
	for i := lo; i < hi; i++ {
		if s, e := span(m.Elems, i); e > s {
			dst = append(dst, m.Heap[s:e]...)
		}
	}
	return b.data(dt, n, []*memory.Buffer{nil, offsets, data}, nil), nil
}

// dict is a symbol column's dictionary as an Arrow string array: "" for
// code 0, then the entries, their bytes the mapping's.
type dict struct {
	arr  arrow.Array
	size int // entries, not counting ""
}

// symbolData builds rows [lo, hi) of a symbol column: its codes, from the
// mapping, are the indices into d, which a code past d's entries (a row
// set in place since d was made) makes again from m.
func (b *builder) symbolData(dt *arrow.DictionaryType, m table.ColumnMemory, lo, hi int, d *dict) (arrow.Array, error) {
	codes := arrow.Uint32Traits.CastFromBytes(m.Elems[lo*4 : hi*4])
	top := uint32(0)
	for _, c := range codes {
		top = max(top, c)
	}
	if int64(top) > int64(len(m.Ends)) {
		return nil, fmt.Errorf("%w: column %q: code %d past the %d entries of its dictionary", ErrCorrupt, m.Spec.Name, top, len(m.Ends))
	}
	if d.arr == nil || int(top) > d.size {
		nd, err := newDict(m, b.mem)
		if err != nil {
			return nil, err
		}
		if d.arr != nil {
			d.arr.Release()
		}
		*d = nd
	}
	b.shared += 4 * len(codes)
	idx := array.NewData(dt.IndexType, hi-lo, []*memory.Buffer{nil, memory.NewBufferBytes(m.Elems[lo*4 : hi*4 : hi*4])}, nil, 0, 0)
	defer idx.Release()
	data := array.NewDataWithDictionary(dt, hi-lo, idx.Buffers(), 0, 0, d.arr.Data().(*array.Data))
	defer data.Release()
	return array.MakeFromData(data), nil
}

// newDict makes the dictionary array of a symbol column's memory.
func newDict(m table.ColumnMemory, mem memory.Allocator) (dict, error) {
	n := len(m.Ends)
	end := uint64(0)
	if n > 0 {
		end = m.Ends[n-1]
	}
	if end > math.MaxInt32 || end > uint64(len(m.Heap)) {
		return dict{}, fmt.Errorf("%w: column %q: a dictionary of %d bytes (Arrow's offsets address 2 GiB, the heap holds %d)", ErrUnsupported, m.Spec.Name, end, len(m.Heap))
	}
	offsets := memory.NewResizableBuffer(mem)
	offsets.Resize(4 * (n + 2))
	offs := arrow.Int32Traits.CastFromBytes(offsets.Bytes())
	offs[0], offs[1] = 0, 0
	prev := uint64(0)
	for c, e := range m.Ends {
		if e < prev {
			return dict{}, fmt.Errorf("%w: column %q: dictionary entry %d ends before it starts", ErrCorrupt, m.Spec.Name, c)
		}
		offs[c+2] = int32(e)
		prev = e
	}
	data := array.NewData(arrow.BinaryTypes.String, n+1, []*memory.Buffer{nil, offsets, memory.NewBufferBytes(m.Heap[:end:end])}, nil, 0, 0)
	offsets.Release()
	defer data.Release()
	return dict{arr: array.MakeFromData(data), size: n}, nil
}
