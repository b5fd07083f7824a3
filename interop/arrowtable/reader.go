package arrowtable

import (
	"errors"
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/mmapvec/persistence"
	"github.com/mmapvec/persistence/table"
)

// Table is what a [Reader] reads: a *table.Table[R] of any row type R,
// table.Any included.
type Table interface {
	Len() int
	Manifest() persistence.Manifest
	Memory(column string, rows int) (table.ColumnMemory, error)
	Consistent(read func() error) error
}

// DefaultBatchRows is the rows of a record batch when [Options.BatchRows]
// is 0.
const DefaultBatchRows = 1 << 16

// Options tunes a [Reader]. The zero value (or nil) is the defaults.
type Options struct {
	// BatchRows is the most rows of one record batch (DefaultBatchRows if
	// 0): what bounds the memory of the columns that are copies. A batch
	// of string columns may hold fewer, so that its values fit Arrow's
	// 2 GiB of int32 offsets.
	BatchRows int
	// Columns names the columns to read, in this order (the manifest's
	// names or Go field names); all of them, in the manifest's order, if
	// empty.
	Columns []string
	// Allocator allocates the buffers that are copies (memory.DefaultAllocator
	// if nil).
	Allocator memory.Allocator
	// MaxBatches, if above 0, caps the number of batches when every column
	// read is shared with the mapping (scalars but bools, [N]byte and
	// arrays of them, symbol codes): their batches then grow past
	// BatchRows, which only bounds copies, so that a consumer's cost per
	// batch stays the same whatever the rows. Ignored when a column is
	// copied (strings' offsets, bools, struct fields).
	MaxBatches int
}

// Reader gives a table's rows as Arrow record batches: an
// array.RecordReader over the rows the table had when the reader was made.
// Its methods are not safe for concurrent use, nor beside other use of the
// table: use the table from the goroutine that reads the batches.
type Reader struct {
	src    Table
	schema *arrow.Schema
	cols   []column
	rows   int
	batch  int
	mem    memory.Allocator

	next int
	cur  arrow.RecordBatch
	err  error
	refs atomic.Int64

	shared, copied int64
}

// column is a column to read and how.
type column struct {
	spec persistence.ColumnSpec
	dt   arrow.DataType
	tree *node // a fixed-size column's element type
	dict dict  // a symbol column's dictionary as last made
}

// NewReader returns a reader of t's rows as they are now: for a reader
// beside a writer (opened with Options.ReadOnly), the rows the writer
// published last, read as one state of the table (a [Table.Consistent]
// call). Rows appended later are not read; make a new Reader for them.
func NewReader(t Table, opts *Options) (*Reader, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.BatchRows < 0 {
		return nil, fmt.Errorf("arrowtable: BatchRows %d is negative", o.BatchRows)
	}
	if o.MaxBatches < 0 {
		return nil, fmt.Errorf("arrowtable: MaxBatches %d is negative", o.MaxBatches)
	}
	if o.BatchRows == 0 {
		o.BatchRows = DefaultBatchRows
	}
	if o.Allocator == nil {
		o.Allocator = memory.DefaultAllocator
	}
	r := &Reader{src: t, batch: o.BatchRows, mem: o.Allocator}
	r.refs.Store(1)
	man := t.Manifest()
	specs := man.Columns
	if len(o.Columns) > 0 {
		specs = nil
		for _, name := range o.Columns {
			m, err := t.Memory(name, 0)
			if err != nil {
				return nil, err
			}
			specs = append(specs, m.Spec)
		}
	}
	fields := make([]arrow.Field, 0, len(specs))
	for _, s := range specs {
		dt, err := DataType(s)
		if err != nil {
			return nil, err
		}
		c := column{spec: s, dt: dt}
		if !s.Variable() {
			if c.tree, err = tree(s.Layout); err != nil {
				return nil, err
			}
		}
		r.cols = append(r.cols, c)
		fields = append(fields, arrow.Field{Name: s.Name, Type: dt})
	}
	r.schema = arrow.NewSchema(fields, nil)
	if err := t.Consistent(func() error { r.rows = t.Len(); return nil }); err != nil {
		return nil, err
	}
	if o.MaxBatches > 0 && r.rows > r.batch*o.MaxBatches && !slices.ContainsFunc(r.cols, column.copied) {
		r.batch = (r.rows + o.MaxBatches - 1) / o.MaxBatches
	}
	return r, nil
}

// copied reports whether a batch holds a copy of the column's rows rather
// than the mapping's bytes.
func (c column) copied() bool {
	switch c.spec.Kind {
	case persistence.KindString, persistence.KindBytes:
		return true // offsets are made from the spans
	case persistence.KindSymbol:
		return false // codes are shared; the dictionary is made once
	}
	return !c.tree.dense(c.spec.Layout.Size)
}

// Rows returns the number of rows the reader reads.
func (r *Reader) Rows() int { return r.rows }

// Schema returns the batches' schema.
func (r *Reader) Schema() *arrow.Schema { return r.schema }

// Next makes the next batch, releasing the one before; false at the end or
// on an error (see Err).
func (r *Reader) Next() bool {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	if r.err != nil || r.next >= r.rows {
		return false
	}
	lo, hi := r.next, min(r.next+r.batch, r.rows)
	var b builder
	err := r.src.Consistent(func() error {
		b.release() // of a try a change in place overlapped
		b.mem = r.mem
		rec, err := r.read(&b, lo, hi)
		if err != nil {
			return err
		}
		if r.cur != nil {
			r.cur.Release()
		}
		r.cur = rec
		return nil
	})
	b.release()
	if err != nil {
		if r.cur != nil {
			r.cur.Release()
			r.cur = nil
		}
		r.err = err
		return false
	}
	r.next += int(r.cur.NumRows())
	r.shared += int64(b.shared)
	r.copied += int64(b.copied)
	return true
}

// read makes the batch of rows [lo, hi) or fewer.
func (r *Reader) read(b *builder, lo, hi int) (arrow.RecordBatch, error) {
	mems := make([]table.ColumnMemory, len(r.cols))
	for i, c := range r.cols {
		m, err := r.src.Memory(c.spec.Name, hi)
		if errors.Is(err, table.ErrRange) {
			return nil, fmt.Errorf("%w: %d rows read of %d: %w", ErrShrunk, lo, r.rows, err)
		}
		if err != nil {
			return nil, err
		}
		mems[i] = m
		if k := c.spec.Kind; k == persistence.KindString || k == persistence.KindBytes {
			hi = fitStrings(m, lo, hi)
		}
	}
	if hi == lo {
		return nil, fmt.Errorf("%w: row %d holds values of more than 2 GiB", ErrUnsupported, lo)
	}
	arrs := make([]arrow.Array, 0, len(r.cols))
	defer func() {
		for _, a := range arrs {
			a.Release()
		}
	}()
	for i := range r.cols {
		c, m := &r.cols[i], mems[i]
		var a arrow.Array
		switch c.spec.Kind {
		case persistence.KindString, persistence.KindBytes:
			d, err := b.stringData(c.dt, m, lo, hi)
			if err != nil {
				return nil, err
			}
			a = array.MakeFromData(d)
			d.Release()
		case persistence.KindSymbol:
			var err error
			if a, err = b.symbolData(c.dt.(*arrow.DictionaryType), m, lo, hi, &c.dict); err != nil {
				return nil, err
			}
		default:
			size := c.spec.Layout.Size
			d := b.fixedData(c.tree, c.dt, m.Elems, places{base: lo*size + c.tree.offset, stride: size, n: hi - lo})
			a = array.MakeFromData(d)
			d.Release()
		}
		arrs = append(arrs, a)
	}
	return array.NewRecordBatch(r.schema, arrs, int64(hi-lo)), nil
}

// RecordBatch returns the current batch, valid until the next call to Next
// or Release (Retain it to keep it longer).
func (r *Reader) RecordBatch() arrow.RecordBatch { return r.cur }

// Record returns the current batch.
//
// Deprecated: use RecordBatch, as array.RecordReader says.
func (r *Reader) Record() arrow.RecordBatch { return r.cur }

// Err returns the error that ended the batches, if any.
func (r *Reader) Err() error { return r.err }

// Retain adds a reference to the reader.
func (r *Reader) Retain() { r.refs.Add(1) }

// Release drops a reference; the last releases the current batch and the
// dictionaries. The table stays open: the reader never closes it.
func (r *Reader) Release() {
	if r.refs.Add(-1) != 0 {
		return
	}
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	for i := range r.cols {
		if d := &r.cols[i].dict; d.arr != nil {
			d.arr.Release()
			d.arr = nil
		}
	}
}

// Stats returns the bytes of the batches made so far that are the table's
// mapping (shared) and that were copied (offsets, bools, struct fields,
// values out of row order).
func (r *Reader) Stats() (shared, copied int64) { return r.shared, r.copied }

var _ array.RecordReader = (*Reader)(nil)
