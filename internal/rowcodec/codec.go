// Package rowcodec moves records of a struct type between row form (a Go
// value) and the columns that hold its fields, by field offset: no
// reflection per row.
package rowcodec

import (
	"fmt"
	"sync/atomic"
	"unsafe"

	"github.com/mmapvec/persistence/internal/colset"
)

// Codec moves records of type R between row form (a Go struct) and the
// columns that hold its fields, by field offset: no reflection per row.
type Codec[R any] struct {
	fields  []field
	rowSize int // bytes of a row in packed form: the sum of element sizes

	// own lists the fields whose element is the field's own bytes in R;
	// the others (external: a string's span, a symbol's code) are written
	// and read by their owner, and only moved here, as packed elements.
	own      []int
	ownBytes int // bytes of R that the own fields cover

	// For Get, the hot path of Table.Row: the 8-byte fields (most of them,
	// usually) as bare (data, offset) pairs, copied without a size test,
	// and the indexes of the others in fields.
	words []word
	rest  []int
}

type word struct {
	data unsafe.Pointer
	off  uintptr
}

type field struct {
	col  *colset.Column
	off  uintptr // field offset in R
	size uintptr
	data unsafe.Pointer // element 0 of the column's current mapping; see Refresh
}

// New returns a Codec for columns[i] holding the field at offsets[i] of R.
// The caller has checked that the layouts match. A column with external[i]
// set (external may be nil) does not hold the field's bytes: Put, Get,
// Pack and the batch copies leave it to its owner, and only the moves of
// packed elements (PackRow, UnpackRow) include it.
func New[R any](columns []*colset.Column, offsets []int, external []bool) *Codec[R] {
	m := &Codec[R]{}
	for i, c := range columns {
		m.fields = append(m.fields, field{col: c, off: uintptr(offsets[i]), size: uintptr(c.ElemSize()), data: c.File().Data()})
		m.rowSize += c.ElemSize()
		if external == nil || !external[i] {
			m.own = append(m.own, i)
			m.ownBytes += c.ElemSize()
		}
	}
	m.Refresh()
	return m
}

// Refresh reloads the columns' mappings: call it after any of them grew.
func (m *Codec[R]) Refresh() {
	m.words, m.rest = m.words[:0], m.rest[:0]
	for i := range m.fields {
		m.fields[i].data = m.fields[i].col.File().Data()
	}
	for _, i := range m.own {
		f := &m.fields[i]
		if f.size == 8 {
			m.words = append(m.words, word{f.data, f.off})
		} else {
			m.rest = append(m.rest, i)
		}
	}
}

// PackedSize is the size of a row in packed form ([Codec.Pack]).
func (m *Codec[R]) PackedSize() int { return m.rowSize }

// move copies size bytes; the common sizes compile to one load and store.
func move(dst, src unsafe.Pointer, size uintptr) {
	switch size {
	case 8:
		*(*uint64)(dst) = *(*uint64)(src)
	case 4:
		*(*uint32)(dst) = *(*uint32)(src)
	case 16:
		*(*[2]uint64)(dst) = *(*[2]uint64)(src)
	case 1:
		*(*byte)(dst) = *(*byte)(src)
	case 2:
		*(*uint16)(dst) = *(*uint16)(src)
	default:
		copy(unsafe.Slice((*byte)(dst), size), unsafe.Slice((*byte)(src), size))
	}
}

// Put writes r's fields into element at of every own column. Room must
// exist.
func (m *Codec[R]) Put(at int, r *R) {
	src := unsafe.Pointer(r)
	// The 8-byte fields first, as bare (data, offset) pairs: Append's hot
	// path is these stores and little else.
	off := uintptr(at) * 8
	for _, w := range m.words {
		*(*uint64)(unsafe.Add(w.data, off)) = *(*uint64)(unsafe.Add(src, w.off))
	}
	for _, k := range m.rest {
		f := &m.fields[k]
		dst := unsafe.Add(f.data, uintptr(at)*f.size)
		if f.size == 4 {
			*(*uint32)(dst) = *(*uint32)(unsafe.Add(src, f.off))
			continue
		}
		move(dst, unsafe.Add(src, f.off), f.size)
	}
}

// PutColumns writes every own field of each record in rs into its column
// at [at, at+len(rs)): per column, a strided gather from the rows into one
// contiguous run.
func (m *Codec[R]) PutColumns(at int, rs []R) {
	if len(rs) == 0 {
		return
	}
	for _, k := range m.own {
		f := &m.fields[k]
		src := unsafe.Add(unsafe.Pointer(&rs[0]), f.off)
		gather(unsafe.Add(f.data, uintptr(at)*f.size), src, len(rs), unsafe.Sizeof(rs[0]), f.size)
	}
}

// gather copies n elements of size bytes, stride bytes apart at src, into
// one contiguous run at dst; the common sizes without a call per element.
func gather(dst, src unsafe.Pointer, n int, stride, size uintptr) {
	switch size {
	case 8:
		d := unsafe.Slice((*uint64)(dst), n)
		for j := range d {
			d[j] = *(*uint64)(unsafe.Add(src, uintptr(j)*stride))
		}
	case 4:
		d := unsafe.Slice((*uint32)(dst), n)
		for j := range d {
			d[j] = *(*uint32)(unsafe.Add(src, uintptr(j)*stride))
		}
	default:
		for j := range n {
			move(unsafe.Add(dst, uintptr(j)*size), unsafe.Add(src, uintptr(j)*stride), size)
		}
	}
}

// WriteRows is [Codec.PutColumns], through pwrite: rows are taken in
// blocks that fit half the staging buffer stage; each block's fields are
// gathered into its half, column after column, and written to their column
// files at [at, at+len(rs)). The kernel copies into the page cache without a
// page fault per page. A batch of more than one block is a pipeline of two
// goroutines: this one gathers a block into one half while the other
// writes the block before from the other half, so that on two cores the
// batch costs about its writes alone. Lengths are not changed; on an error,
// some blocks may have been written.
func (m *Codec[R]) WriteRows(at int, rs []R, stage []byte) error {
	half := len(stage) / 2
	block := half / m.rowSize
	if block == 0 {
		return fmt.Errorf("rowcodec: staging buffer of %d bytes is smaller than two rows (%d each)", len(stage), m.rowSize)
	}
	if len(rs) <= block {
		m.gatherBlock(stage, rs)
		return m.writeBlock(stage, at, len(rs))
	}
	type job struct {
		buf      []byte
		at, rows int
	}
	jobs := make(chan job, 1)
	free := make(chan []byte, 2)
	free <- stage[:half]
	free <- stage[half : 2*half]
	done := make(chan error, 1)
	var failed atomic.Bool
	go func() {
		var err error
		for j := range jobs {
			if err == nil {
				if err = m.writeBlock(j.buf, j.at, j.rows); err != nil {
					failed.Store(true)
				}
			}
			free <- j.buf
		}
		done <- err
	}()
	for start := 0; start < len(rs) && !failed.Load(); start += block {
		n := min(block, len(rs)-start)
		buf := <-free
		m.gatherBlock(buf, rs[start:start+n])
		jobs <- job{buf, at + start, n}
	}
	close(jobs)
	return <-done
}

// gatherBlock gathers the own fields of rs into buf, one run per column in
// column order.
func (m *Codec[R]) gatherBlock(buf []byte, rs []R) {
	if len(rs) == 0 {
		return
	}
	n, stride := len(rs), unsafe.Sizeof(rs[0])
	// Rows of 8-byte fields only (the usual case) are gathered in one pass,
	// row by row: the block is read once, in order, rather than once per
	// column.
	if len(m.rest) == 0 && len(m.own) <= maxFused {
		var offs [maxFused]uintptr
		for i, k := range m.own {
			offs[i] = m.fields[k].off
		}
		gatherWords(unsafe.Pointer(&buf[0]), unsafe.Pointer(&rs[0]), n, stride, offs[:len(m.own)])
		return
	}
	pos := 0
	for _, k := range m.own {
		f := &m.fields[k]
		gather(unsafe.Pointer(&buf[pos]), unsafe.Add(unsafe.Pointer(&rs[0]), f.off), n, stride, f.size)
		pos += n * int(f.size)
	}
}

// writeBlock writes the runs that gatherBlock put in buf for rows rows to
// their columns at element at.
func (m *Codec[R]) writeBlock(buf []byte, at, rows int) error {
	pos := 0
	for _, k := range m.own {
		f := &m.fields[k]
		chunk := buf[pos : pos+rows*int(f.size)]
		pos += len(chunk)
		if err := f.col.File().WriteAt(chunk, at); err != nil {
			return fmt.Errorf("column %q: %w", f.col.Name(), err)
		}
	}
	return nil
}

// maxFused is the most columns gatherWords writes in one pass.
const maxFused = 16

// gatherWords copies, from each of n records stride bytes apart at src,
// the 8-byte fields at offs into len(offs) runs of n words at dst, one after
// another: one pass over the records for all the columns.
func gatherWords(dst, src unsafe.Pointer, n int, stride uintptr, offs []uintptr) {
	var outs [maxFused]unsafe.Pointer
	for i := range offs {
		outs[i] = unsafe.Add(dst, i*n*8)
	}
	for j := range n {
		row := unsafe.Add(src, uintptr(j)*stride)
		at := uintptr(j) * 8
		for i, off := range offs {
			*(*uint64)(unsafe.Add(outs[i], at)) = *(*uint64)(unsafe.Add(row, off))
		}
	}
}

// Get reads row i from the columns into r; fields of R without a column
// are left alone. The common sizes are copied without a call: a row read is
// a handful of loads and stores, which is what makes Table.Row cheap enough
// to scan with.
func (m *Codec[R]) Get(i int, r *R) {
	dst := unsafe.Pointer(r)
	at := uintptr(i) * 8
	for _, w := range m.words {
		*(*uint64)(unsafe.Add(dst, w.off)) = *(*uint64)(unsafe.Add(w.data, at))
	}
	for _, k := range m.rest {
		f := &m.fields[k]
		src := unsafe.Add(f.data, uintptr(i)*f.size)
		if f.size == 4 {
			*(*uint32)(unsafe.Add(dst, f.off)) = *(*uint32)(src)
			continue
		}
		move(unsafe.Add(dst, f.off), src, f.size)
	}
}

// GetRows reads rows [at, at+len(dst)) into dst, column by column: each
// column's run of elements is scattered, with one strided copy, into its
// field of every record (the inverse of [Codec.PutColumns]). dst is taken
// in blocks of about 16 KiB, so that the records stay in L1 cache while
// every column is scattered into them. The rows must lie within every
// column. Fields of R without a column are left alone.
func (m *Codec[R]) GetRows(at int, dst []R) {
	if len(dst) == 0 {
		return
	}
	stride := unsafe.Sizeof(dst[0])
	block := max(1, int(16<<10/stride))
	for start := 0; start < len(dst); start += block {
		n := min(block, len(dst)-start)
		base := unsafe.Pointer(&dst[start])
		for _, k := range m.own {
			f := &m.fields[k]
			scatter(unsafe.Add(base, f.off), unsafe.Add(f.data, uintptr(at+start)*f.size), n, stride, f.size)
		}
	}
}

// Covers reports whether the columns hold every byte of R (no field left
// out, no padding): then [Codec.GetRows] overwrites whole records.
func (m *Codec[R]) Covers() bool {
	var r R
	return uintptr(m.ownBytes) == unsafe.Sizeof(r)
}

// scatter copies n contiguous elements of size bytes at src to dst, stride
// bytes apart: the inverse of gather.
func scatter(dst, src unsafe.Pointer, n int, stride, size uintptr) {
	switch size {
	case 8:
		s := unsafe.Slice((*uint64)(src), n)
		j := 0
		// Unrolled: independent stores. Every pointer is formed inside dst's
		// records: one past the last would be an invalid pointer to Go.
		for ; j+4 <= len(s); j += 4 {
			d := unsafe.Add(dst, uintptr(j)*stride)
			*(*uint64)(d) = s[j]
			*(*uint64)(unsafe.Add(d, stride)) = s[j+1]
			*(*uint64)(unsafe.Add(d, 2*stride)) = s[j+2]
			*(*uint64)(unsafe.Add(d, 3*stride)) = s[j+3]
		}
		for ; j < len(s); j++ {
			*(*uint64)(unsafe.Add(dst, uintptr(j)*stride)) = s[j]
		}
	case 4:
		s := unsafe.Slice((*uint32)(src), n)
		for j, x := range s {
			*(*uint32)(unsafe.Add(dst, uintptr(j)*stride)) = x
		}
	default:
		for j := range n {
			move(unsafe.Add(dst, uintptr(j)*stride), unsafe.Add(src, uintptr(j)*size), size)
		}
	}
}

// Pack writes r in packed form (each column's element bytes, in column
// order) into dst, which has [Codec.PackedSize] bytes. The elements of
// external columns are left for the caller ([Codec.PackedOffset]).
func (m *Codec[R]) Pack(dst []byte, r *R) {
	src := unsafe.Pointer(r)
	for _, k := range m.own {
		f := &m.fields[k]
		pos := m.packedOffset(k)
		copy(dst[pos:pos+int(f.size)], unsafe.Slice((*byte)(unsafe.Add(src, f.off)), f.size))
	}
}

// PackedOffset returns where column k's element lies in packed form.
func (m *Codec[R]) PackedOffset(k int) int { return m.packedOffset(k) }

func (m *Codec[R]) packedOffset(k int) int {
	pos := 0
	for i := range k {
		pos += int(m.fields[i].size)
	}
	return pos
}

// PackRow writes row i of the columns in packed form into dst.
func (m *Codec[R]) PackRow(dst []byte, i int) {
	pos := 0
	for k := range m.fields {
		f := &m.fields[k]
		copy(dst[pos:pos+int(f.size)], unsafe.Slice((*byte)(unsafe.Add(f.data, uintptr(i)*f.size)), f.size))
		pos += int(f.size)
	}
}

// UnpackRow writes a packed row into row i of the columns.
func (m *Codec[R]) UnpackRow(i int, src []byte) {
	pos := 0
	for k := range m.fields {
		f := &m.fields[k]
		copy(unsafe.Slice((*byte)(unsafe.Add(f.data, uintptr(i)*f.size)), f.size), src[pos:pos+int(f.size)])
		pos += int(f.size)
	}
}

// Offset returns the offset in R of the field that sel selects (sel must
// return a pointer into its argument, like func(p *R) *T { return &p.F }),
// and false if it points elsewhere.
func Offset[R, T any](sel func(*R) *T) (uintptr, bool) {
	var r R
	base := uintptr(unsafe.Pointer(&r))
	p := uintptr(unsafe.Pointer(sel(&r)))
	if p < base || p >= base+unsafe.Sizeof(r) {
		return 0, false
	}
	return p - base, true
}

// Elems returns elements [i, i+n) of column c as one live byte slice into
// its current mapping, for moves of whole runs (a stable delete, its redo).
// The caller has checked that they lie within the file's capacity; the
// slice is valid until the file grows or closes.
func Elems(c *colset.Column, i, n int) []byte {
	es := c.ElemSize()
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Add(c.File().Data(), i*es)), n*es)
}
