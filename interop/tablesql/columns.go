package tablesql

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/duckdb/duckdb-go/v2"

	"github.com/mmapvec/persistence"
	"github.com/mmapvec/persistence/interop/arrowtable"
	"github.com/mmapvec/persistence/table"
)

// chunkColumn is a column as the chunk route reads it: its DuckDB type,
// the one the Arrow route's type becomes in DuckDB, and how to fill a
// chunk's vector with its rows.
type chunkColumn struct {
	spec   persistence.ColumnSpec
	info   duckdb.TypeInfo
	sig    string // the Arrow type, which names the DuckDB one
	varlen bool   // strings, bytes and symbols: read inside Consistent
	// fill sets rows [lo, hi) of m as rows 0 to hi-lo of the chunk's
	// column col.
	fill func(chunk duckdb.DataChunk, col int, m table.ColumnMemory, lo, hi int) error
}

// compileColumn works out how to read a column. Scalars, [N]byte and
// variable-length values are read by loops over the column; structs,
// arrays and complex numbers become DuckDB's STRUCT and ARRAY values, made
// as Go values a row at a time (a map per struct, a slice per array).
func compileColumn(spec persistence.ColumnSpec) (*chunkColumn, error) {
	dt, err := arrowtable.DataType(spec) // the shape, and what is supported
	if err != nil {
		return nil, err
	}
	c := &chunkColumn{spec: spec, sig: dt.String()}
	switch spec.Kind {
	case persistence.KindString:
		c.varlen, c.fill = true, fillSpans[string]
		c.info, err = duckdb.NewTypeInfo(duckdb.TYPE_VARCHAR)
		return c, err
	case persistence.KindBytes:
		c.varlen, c.fill = true, fillSpans[[]byte]
		c.info, err = duckdb.NewTypeInfo(duckdb.TYPE_BLOB)
		return c, err
	case persistence.KindSymbol:
		c.varlen, c.fill = true, fillSymbols
		c.info, err = duckdb.NewTypeInfo(duckdb.TYPE_VARCHAR)
		return c, err
	}
	leaves := map[string]persistence.Leaf{}
	for _, l := range spec.Layout.Leaves {
		leaves[l.Path] = l
	}
	size := spec.Layout.Size
	if l, ok := leaves[""]; ok && l.Size == size {
		if sc, ok := scalarOf(l.Kind, l.Size); ok {
			c.fill = sc.fill
			c.info, err = duckdb.NewTypeInfo(sc.t)
			return c, err
		}
	}
	if b, ok := dt.(*arrow.FixedSizeBinaryType); ok && b.ByteWidth == size {
		c.fill = fillBlobs
		c.info, err = duckdb.NewTypeInfo(duckdb.TYPE_BLOB)
		return c, err
	}
	info, value, err := nested(leaves, dt, "", 0)
	if err != nil {
		return nil, fmt.Errorf("column %q: %w", spec.Name, err)
	}
	c.info = info
	c.fill = func(chunk duckdb.DataChunk, col int, m table.ColumnMemory, lo, hi int) error {
		for r := lo; r < hi; r++ {
			if err := duckdb.SetChunkValue(chunk, col, r-lo, value(m.Elems[r*size:(r+1)*size], 0)); err != nil {
				return err
			}
		}
		return nil
	}
	return c, nil
}

// scalar is how a scalar kind is read: its DuckDB type, a loop that fills
// a vector from a column of it, and a read of one value in a nested one.
type scalar struct {
	t    duckdb.Type
	fill func(chunk duckdb.DataChunk, col int, m table.ColumnMemory, lo, hi int) error
	read func(b []byte) any
}

func scalarOf(kind string, size int) (scalar, bool) {
	ne := binary.NativeEndian
	switch {
	case kind == "bool":
		return scalar{duckdb.TYPE_BOOLEAN, fillBools, func(b []byte) any { return b[0] != 0 }}, true
	case kind == "int8":
		return scalar{duckdb.TYPE_TINYINT, fillValues[int8], func(b []byte) any { return int8(b[0]) }}, true
	case kind == "int16":
		return scalar{duckdb.TYPE_SMALLINT, fillValues[int16], func(b []byte) any { return int16(ne.Uint16(b)) }}, true
	case kind == "int32" || kind == "int" && size == 4:
		t := duckdb.TYPE_INTEGER
		if kind == "int" {
			t = duckdb.TYPE_BIGINT // as the Arrow route's Int64
		}
		return scalar{t, fillValues[int32], func(b []byte) any { return int32(ne.Uint32(b)) }}, true
	case kind == "int64" || kind == "int" && size == 8:
		return scalar{duckdb.TYPE_BIGINT, fillValues[int64], func(b []byte) any { return int64(ne.Uint64(b)) }}, true
	case kind == "uint8":
		return scalar{duckdb.TYPE_UTINYINT, fillValues[uint8], func(b []byte) any { return b[0] }}, true
	case kind == "uint16":
		return scalar{duckdb.TYPE_USMALLINT, fillValues[uint16], func(b []byte) any { return ne.Uint16(b) }}, true
	case kind == "uint32" || kind == "uint" && size == 4:
		t := duckdb.TYPE_UINTEGER
		if kind == "uint" {
			t = duckdb.TYPE_UBIGINT
		}
		return scalar{t, fillValues[uint32], func(b []byte) any { return ne.Uint32(b) }}, true
	case kind == "uint64" || kind == "uint" && size == 8:
		return scalar{duckdb.TYPE_UBIGINT, fillValues[uint64], func(b []byte) any { return ne.Uint64(b) }}, true
	case kind == "float32":
		return scalar{duckdb.TYPE_FLOAT, fillValues[float32], func(b []byte) any { return math.Float32frombits(ne.Uint32(b)) }}, true
	case kind == "float64":
		return scalar{duckdb.TYPE_DOUBLE, fillValues[float64], func(b []byte) any { return math.Float64frombits(ne.Uint64(b)) }}, true
	}
	return scalar{}, false
}

// nested returns the DuckDB type of the value of Arrow type dt at path in
// a column's element, and a function that reads it from an element, extra
// bytes past where the leaves lie in the element's first instance of each
// array around them.
func nested(leaves map[string]persistence.Leaf, dt arrow.DataType, path string, depth int) (duckdb.TypeInfo, func(elem []byte, extra int) any, error) {
	switch t := dt.(type) {
	case *arrow.StructType:
		if l, ok := leaves[path]; ok && strings.HasPrefix(l.Kind, "complex") {
			half := l.Size / 2
			part, _ := scalarOf(fmt.Sprintf("float%d", 8*half), half)
			pt, err := duckdb.NewTypeInfo(part.t)
			if err != nil {
				return nil, nil, err
			}
			re, err1 := duckdb.NewStructEntry(pt, "real")
			im, err2 := duckdb.NewStructEntry(pt, "imag")
			if err1 != nil || err2 != nil {
				return nil, nil, fmt.Errorf("%w %w", err1, err2)
			}
			info, err := duckdb.NewStructInfo(re, im)
			return info, func(elem []byte, extra int) any {
				at := l.Offset + extra
				return map[string]any{"real": part.read(elem[at : at+half]), "imag": part.read(elem[at+half : at+l.Size])}
			}, err
		}
		entries := make([]duckdb.StructEntry, t.NumFields())
		reads := make([]func([]byte, int) any, t.NumFields())
		for i, f := range t.Fields() {
			sub := f.Name
			if path != "" {
				sub = path + "." + f.Name
			}
			info, read, err := nested(leaves, f.Type, sub, depth)
			if err != nil {
				return nil, nil, err
			}
			if entries[i], err = duckdb.NewStructEntry(info, f.Name); err != nil {
				return nil, nil, err
			}
			reads[i] = read
		}
		if len(entries) == 0 {
			return nil, nil, fmt.Errorf("%w: a struct of no fields", arrowtable.ErrUnsupported)
		}
		info, err := duckdb.NewStructInfo(entries[0], entries[1:]...)
		return info, func(elem []byte, extra int) any {
			m := make(map[string]any, len(reads))
			for i, read := range reads {
				m[entries[i].Name()] = read(elem, extra)
			}
			return m
		}, err
	case *arrow.FixedSizeListType:
		sub := path + "[]"
		stride, ok := strideOf(leaves, sub, depth)
		if !ok {
			return nil, nil, fmt.Errorf("%w: array %q without its leaves", arrowtable.ErrUnsupported, sub)
		}
		einfo, read, err := nested(leaves, t.Elem(), sub, depth+1)
		if err != nil {
			return nil, nil, err
		}
		n := int(t.Len())
		info, err := duckdb.NewArrayInfo(einfo, uint64(n))
		return info, func(elem []byte, extra int) any {
			s := make([]any, n)
			for j := range s {
				s[j] = read(elem, extra+j*stride)
			}
			return s
		}, err
	case *arrow.FixedSizeBinaryType:
		l, ok := leaves[path+"[]"]
		if !ok {
			return nil, nil, fmt.Errorf("%w: bytes %q without their leaf", arrowtable.ErrUnsupported, path)
		}
		n := t.ByteWidth
		info, err := duckdb.NewTypeInfo(duckdb.TYPE_BLOB)
		return info, func(elem []byte, extra int) any {
			return elem[l.Offset+extra : l.Offset+extra+n]
		}, err
	}
	l, ok := leaves[path]
	sc, known := scalarOf(l.Kind, l.Size)
	if !ok || !known {
		return nil, nil, fmt.Errorf("%w: %q of kind %q", arrowtable.ErrUnsupported, path, l.Kind)
	}
	info, err := duckdb.NewTypeInfo(sc.t)
	return info, func(elem []byte, extra int) any {
		at := l.Offset + extra
		return sc.read(elem[at : at+l.Size])
	}, err
}

// strideOf returns the bytes between the elements of the array at path,
// the depth-th around its leaves.
func strideOf(leaves map[string]persistence.Leaf, path string, depth int) (int, bool) {
	for p, l := range leaves {
		if strings.HasPrefix(p, path) && len(l.Dims) > depth {
			return l.Dims[depth].Stride, true
		}
	}
	return 0, false
}

// values views rows [0, n) of a fixed-size column as Ts: the column's
// elements are Ts back to back, in the machine's byte order.
func values[T any](elems []byte, n int) []T {
	return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(elems))), n)
}

// str views bytes of the mapping as a string, for DuckDB, which copies it.
func str(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// varchar is a string value as the chunk route's VARCHAR holds it: DuckDB
// keeps valid UTF-8 only there (it reads other bytes as NULL, and a table
// has no nulls), so each invalid byte becomes U+FFFD, as JSON Lines export
// writes it. A []byte column is a BLOB and keeps every byte.
func varchar(b []byte) string {
	if utf8.Valid(b) {
		return str(b)
	}
	out := make([]byte, 0, len(b)+8)
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size == 1 {
			out = utf8.AppendRune(out, utf8.RuneError)
		} else {
			out = append(out, b[:size]...)
		}
		b = b[size:]
	}
	return string(out)
}

func fillValues[T int8 | int16 | int32 | int64 | uint8 | uint16 | uint32 | uint64 | float32 | float64](chunk duckdb.DataChunk, col int, m table.ColumnMemory, lo, hi int) error {
	vals := values[T](m.Elems, hi)
	for r := lo; r < hi; r++ {
		if err := duckdb.SetChunkValue(chunk, col, r-lo, vals[r]); err != nil {
			return err
		}
	}
	return nil
}

func fillBools(chunk duckdb.DataChunk, col int, m table.ColumnMemory, lo, hi int) error {
	for r := lo; r < hi; r++ {
		if err := duckdb.SetChunkValue(chunk, col, r-lo, m.Elems[r] != 0); err != nil {
			return err
		}
	}
	return nil
}

// fillBlobs fills a column of [N]byte, a BLOB of N bytes a row.
func fillBlobs(chunk duckdb.DataChunk, col int, m table.ColumnMemory, lo, hi int) error {
	n := m.Spec.Layout.Size
	for r := lo; r < hi; r++ {
		if err := duckdb.SetChunkValue(chunk, col, r-lo, m.Elems[r*n:(r+1)*n]); err != nil {
			return err
		}
	}
	return nil
}

// fillSpans fills a string column (T string) or a bytes one (T []byte)
// from the rows' spans in its heap.
func fillSpans[T string | []byte](chunk duckdb.DataChunk, col int, m table.ColumnMemory, lo, hi int) error {
	heap := uint64(len(m.Heap))
	for r := lo; r < hi; r++ {
		e := m.Elems[r*16 : r*16+16]
		s, end := binary.NativeEndian.Uint64(e), binary.NativeEndian.Uint64(e[8:])
		if s > end || end > heap {
			return fmt.Errorf("%w: column %q row %d: value [%d, %d) outside the %d bytes of its heap", arrowtable.ErrCorrupt, m.Spec.Name, r, s, end, heap)
		}
		var err error
		switch any(*new(T)).(type) {
		case string:
			err = duckdb.SetChunkValue(chunk, col, r-lo, varchar(m.Heap[s:end]))
		default:
			err = duckdb.SetChunkValue(chunk, col, r-lo, m.Heap[s:end:end])
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// fillSymbols fills a symbol column with its rows' strings.
func fillSymbols(chunk duckdb.DataChunk, col int, m table.ColumnMemory, lo, hi int) error {
	codes := values[uint32](m.Elems, hi)
	heap := uint64(len(m.Heap))
	for r := lo; r < hi; r++ {
		var v string
		if c := uint64(codes[r]); c > 0 {
			if c > uint64(len(m.Ends)) {
				return fmt.Errorf("%w: column %q: code %d past the %d entries of its dictionary", arrowtable.ErrCorrupt, m.Spec.Name, c, len(m.Ends))
			}
			s, e := uint64(0), m.Ends[c-1]
			if c > 1 {
				s = m.Ends[c-2]
			}
			if s > e || e > heap {
				return fmt.Errorf("%w: column %q: dictionary entry %d [%d, %d) outside the %d bytes of its heap", arrowtable.ErrCorrupt, m.Spec.Name, c, s, e, heap)
			}
			v = varchar(m.Heap[s:e])
		}
		if err := duckdb.SetChunkValue(chunk, col, r-lo, v); err != nil {
			return err
		}
	}
	return nil
}
