package ingest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"strings"
	"sync"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/mmapvec/persistence/interop/export"
)

// Parquet imports the Parquet file r (size bytes) into the table in dir,
// creating it if dir does not exist (see the package doc). It returns the
// rows appended.
func Parquet(dir string, r io.ReaderAt, size int64, opts *Options) (int, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	f, err := parquet.OpenFile(r, size)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrInput, err)
	}
	cols, err := parquetColumns(f)
	if err != nil {
		return 0, err
	}
	meta, _ := f.Lookup(export.ColumnsKey)
	return run(dir, cols, tableColumns(meta, cols), &o, int(f.NumRows()), func(p *plan, s *sink) error {
		return readParquet(f, p, s, o.batch(cols))
	})
}

// parquetColumns returns the file's columns, which must be flat.
func parquetColumns(f *parquet.File) ([]fileCol, error) {
	symbols := map[string]bool{}
	if v, ok := f.Lookup(export.SymbolsKey); ok && v != "" {
		for _, s := range strings.Split(v, ",") {
			symbols[s] = true
		}
	}
	var cols []fileCol
	for _, fd := range f.Schema().Fields() {
		if !fd.Leaf() || fd.Repeated() {
			return nil, fmt.Errorf("%w: column %q is a group or repeated; only flat columns import", ErrSchema, fd.Name())
		}
		c := fileCol{name: fd.Name()}
		t := fd.Type()
		lt := t.LogicalType()
		switch t.Kind() {
		case parquet.Boolean:
			c.kind, c.size = "bool", 1
		case parquet.Int32, parquet.Int64:
			bits, signed := 32, true
			if t.Kind() == parquet.Int64 {
				bits = 64
			}
			if lt != nil {
				switch v := lt.Value.(type) {
				case nil:
				case *format.IntType:
					bits, signed = int(v.BitWidth), v.IsSigned
				case *format.TimestampType, *format.TimeType, *format.DateType:
					// Their integers as stored: Unix time in the file's unit,
					// as a table stores times.
				default:
					return nil, fmt.Errorf("%w: column %q has the logical type %s, which no table column holds", ErrSchema, c.name, lt)
				}
			}
			c.kind, c.size = fmt.Sprintf("int%d", bits), bits/8
			if !signed {
				c.kind = "u" + c.kind
			}
		case parquet.Float:
			c.kind, c.size = "float32", 4
		case parquet.Double:
			c.kind, c.size = "float64", 8
		case parquet.FixedLenByteArray:
			// Only plain bytes: a DECIMAL, UUID, FLOAT16 or INTERVAL would
			// import as bytes that no longer say what they are.
			if lt != nil && lt.Value != nil {
				return nil, fmt.Errorf("%w: column %q has the logical type %s, which no table column holds", ErrSchema, c.name, lt)
			}
			if ct := t.ConvertedType(); ct != nil {
				return nil, fmt.Errorf("%w: column %q has the converted type %v, which no table column holds", ErrSchema, c.name, *ct)
			}
			c.kind, c.size = "fixed", t.Length()
		case parquet.ByteArray:
			c.kind = "bytes"
			if lt != nil && lt.Value != nil {
				if _, ok := lt.Value.(*format.StringType); !ok {
					return nil, fmt.Errorf("%w: column %q has the logical type %s, which no table column holds", ErrSchema, c.name, lt)
				}
				c.kind = "string"
				if symbols[c.name] {
					c.kind = "symbol"
				}
			}
		default:
			return nil, fmt.Errorf("%w: column %q is of the Parquet type %s, which no table column holds", ErrSchema, c.name, t)
		}
		cols = append(cols, c)
	}
	return cols, nil
}

// readParquet reads the rows of f in batches of batchRows rows (the last
// may be shorter), converts them by p into a batch, and puts each into s.
// A batch may take rows from several row groups, so that the batches an
// import appends have the size asked whatever the file's row groups.
func readParquet(f *parquet.File, p *plan, s *sink, batchRows int) error {
	bs := [2]*batch{newBatch(p, batchRows), newBatch(p, batchRows)}
	turn := 0
	// The leaves of a batch are read and converted by up to GOMAXPROCS
	// goroutines, each with its own values and its own share of leaves:
	// each reads its own column chunks and writes its leaves' bytes.
	workers := max(1, min(runtime.GOMAXPROCS(0), len(p.leaves)))
	vals := make([][]parquet.Value, workers)
	for w := range vals {
		vals[w] = make([]parquet.Value, batchRows)
	}
	errs := make([]error, workers)

	groups := f.RowGroups()
	total := 0
	for _, rg := range groups {
		total += int(rg.NumRows())
	}
	// readers[g] are row group g's column readers while it is read: opened
	// by the batch that reads its first rows, each closed by the worker
	// that reads its last.
	readers := make([][]parquet.ColumnChunkValueReader, len(groups))
	defer func() {
		for _, rs := range readers {
			for _, r := range rs {
				if r != nil {
					r.Close()
				}
			}
		}
	}()
	// A segment is rows n of row group g, at off in the batch.
	type segment struct {
		g, off, n int
		last      bool // the row group's last rows
	}
	var segs []segment
	g, left := 0, 0 // the row group read next, and its rows not yet read
	if len(groups) > 0 {
		left = int(groups[0].NumRows())
	}
	done := 0
	for done < total {
		n := min(batchRows, total-done)
		segs = segs[:0]
		for off := 0; off < n; {
			for left == 0 {
				g++
				left = int(groups[g].NumRows())
			}
			if readers[g] == nil {
				chunks := groups[g].ColumnChunks()
				readers[g] = make([]parquet.ColumnChunkValueReader, len(chunks))
				for i, c := range chunks {
					readers[g][i] = parquet.NewColumnChunkValueReader(c)
				}
			}
			take := min(left, n-off)
			left -= take
			segs = append(segs, segment{g: g, off: off, n: take, last: left == 0})
			off += take
		}
		b := bs[turn%2]
		turn++
		b.reset(n)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				errs[w] = nil
				for k := w; k < len(p.leaves); k += workers {
					v := vals[w][:n]
					for _, sg := range segs {
						r := readers[sg.g][p.src[k]]
						if err := readN(r, v[sg.off:sg.off+sg.n]); err != nil {
							errs[w] = fmt.Errorf("%w: column %q, rows from %d: %w", ErrInput, p.leaves[k].Name, done+sg.off, err)
							return
						}
					}
					if err := b.setParquet(k, v, done); err != nil {
						errs[w] = err
						return
					}
					// Values point into their reader's pages: a reader
					// closes once they are copied.
					for _, sg := range segs {
						if sg.last {
							readers[sg.g][p.src[k]].Close()
							readers[sg.g][p.src[k]] = nil
						}
					}
				}
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return err
		}
		if err := s.put(b); err != nil {
			return err
		}
		done += n
	}
	return nil
}

// readN reads exactly len(v) values.
func readN(r parquet.ValueReader, v []parquet.Value) error {
	got := 0
	for got < len(v) {
		n, err := r.ReadValues(v[got:])
		got += n
		if errors.Is(err, io.EOF) {
			if got < len(v) {
				return fmt.Errorf("%d values where the row group has %d: %w", got, len(v), io.ErrUnexpectedEOF)
			}
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// setParquet converts the values v of leaf k (rows from first in the
// file) into the batch: a null is the zero value. Each kind has its own
// loop; an integer narrower than its Parquet type is checked to fit.
func (b *batch) setParquet(k int, v []parquet.Value, first int) error {
	l := &b.p.leaves[k]
	ne := binary.NativeEndian
	size := b.p.size[k]
	e := b.data[b.p.col[k]].Elems
	if e != nil {
		e = e[l.Off:]
	}
	for i := range v {
		if v[i].IsNull() {
			if e != nil {
				clear(e[i*size : i*size+l.Size])
			} else {
				b.setValue(k, i, "")
			}
		}
	}
	switch l.Kind {
	case "string", "symbol", "bytes":
		for i := range v {
			if !v[i].IsNull() {
				b.setValue(k, i, string(v[i].ByteArray()))
			}
		}
	case "fixed":
		for i := range v {
			if val := v[i].ByteArray(); !v[i].IsNull() {
				if len(val) != l.Size {
					return fmt.Errorf("%w: column %q, row %d: %d bytes for [%d]byte", ErrInput, l.Name, first+i, len(val), l.Size)
				}
				copy(e[i*size:], val)
			}
		}
	case "float32":
		for i := range v {
			ne.PutUint32(e[i*size:], math.Float32bits(v[i].Float()))
		}
	case "float64":
		for i := range v {
			ne.PutUint64(e[i*size:], math.Float64bits(v[i].Double()))
		}
	case "bool":
		for i := range v {
			e[i*size] = 0
			if v[i].Boolean() {
				e[i*size] = 1
			}
		}
	case "int64", "uint64":
		for i := range v {
			ne.PutUint64(e[i*size:], uint64(v[i].Int64()))
		}
	case "int32", "uint32":
		for i := range v {
			ne.PutUint32(e[i*size:], uint32(v[i].Int32()))
		}
	default:
		unsigned := strings.HasPrefix(l.Kind, "u")
		for i := range v {
			if v[i].IsNull() {
				continue
			}
			x := int64(v[i].Int32())
			if unsigned {
				x = int64(uint32(v[i].Int32()))
			}
			if err := putInt(e[i*size:i*size+l.Size], l.Kind, x); err != nil {
				return fmt.Errorf("%w: column %q, row %d: %w", ErrInput, l.Name, first+i, err)
			}
		}
	}
	return nil
}

// putInt stores x as an integer of kind, which must hold it (a uint64
// is x's bits).
func putInt(dst []byte, kind string, x int64) error {
	lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
	switch kind {
	case "int8":
		lo, hi = math.MinInt8, math.MaxInt8
	case "int16":
		lo, hi = math.MinInt16, math.MaxInt16
	case "int32":
		lo, hi = math.MinInt32, math.MaxInt32
	case "uint8":
		lo, hi = 0, math.MaxUint8
	case "uint16":
		lo, hi = 0, math.MaxUint16
	case "uint32":
		lo, hi = 0, math.MaxUint32
	}
	if x < lo || x > hi {
		return fmt.Errorf("the value %d does not fit %s", x, kind)
	}
	switch len(dst) {
	case 1:
		dst[0] = byte(x)
	case 2:
		binary.NativeEndian.PutUint16(dst, uint16(x))
	case 4:
		binary.NativeEndian.PutUint32(dst, uint32(x))
	default:
		binary.NativeEndian.PutUint64(dst, uint64(x))
	}
	return nil
}
