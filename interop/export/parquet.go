package export

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"strings"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"

	"github.com/mmapvec/persistence"
	"github.com/mmapvec/persistence/table"
)

// Options tune an export. The zero value (or nil) is snappy-compressed
// Parquet in row groups of at most 64 MiB of values, unpartitioned.
type Options struct {
	// Compression of Parquet pages: "snappy" (""), "zstd", "gzip", "lz4"
	// (LZ4_RAW), "brotli" or "none".
	Compression string
	// RowGroupBytes bounds a Parquet row group's values before encoding,
	// and so the memory an export holds: 0 means 64 MiB.
	RowGroupBytes int
	// PartitionBy names a column to split a Parquet export by (see
	// [ParquetDir]).
	PartitionBy string
	// Rows exports the table's first Rows rows; 0 (or more than it has)
	// means all it has when the export starts.
	Rows int
	// Progress, if set, is called with the rows written so far after each
	// block of rows.
	Progress func(done, total int)
}

const (
	defaultRowGroupBytes = 64 << 20
	block                = 16384 // rows read per step of every column
)

func (o *Options) codec() (compress.Codec, error) {
	switch strings.ToLower(o.Compression) {
	case "", "snappy":
		return &parquet.Snappy, nil
	case "zstd":
		return &parquet.Zstd, nil
	case "gzip":
		return &parquet.Gzip, nil
	case "lz4", "lz4_raw":
		return &parquet.Lz4Raw, nil
	case "brotli":
		return &parquet.Brotli, nil
	case "none", "uncompressed":
		return &parquet.Uncompressed, nil
	}
	return nil, fmt.Errorf("%w: compression %q (snappy, zstd, gzip, lz4, brotli or none)", ErrOption, o.Compression)
}

func (o *Options) rows() int {
	if o.Rows <= 0 {
		return -1
	}
	return o.Rows
}

// ColumnsKey is the key of a Parquet file's metadata that holds, as JSON,
// the table columns (persistence.ColumnSpec) the file's flat columns come
// from: an import into a new table makes them again, nested values and all.
const ColumnsKey = "persistence.columns"

// SymbolsKey is the key of a Parquet file's metadata that lists, joined
// by commas, the columns that hold table.Symbol values: an import into a
// new table makes them symbol columns again.
const SymbolsKey = "persistence.symbols"

// orderedGroup is a Parquet group whose fields keep the table's column
// order (parquet.Group sorts them by name).
type orderedGroup struct {
	parquet.Group
	order []string
}

func (g orderedGroup) Fields() []parquet.Field {
	byName := map[string]parquet.Field{}
	for _, f := range g.Group.Fields() {
		byName[f.Name()] = f
	}
	out := make([]parquet.Field, len(g.order))
	for i, n := range g.order {
		out[i] = byName[n]
	}
	return out
}

// Node returns the Parquet type of a leaf: INT32 or INT64 with the
// INT(bits, signed) logical type for each Go integer width, FLOAT,
// DOUBLE, BOOLEAN, FIXED_LEN_BYTE_ARRAY(N) for [N]byte, BYTE_ARRAY with
// the STRING logical type for strings and (dictionary-encoded) symbols,
// and a plain BYTE_ARRAY for []byte. Every leaf is required: a table has
// no nulls.
func Node(l Leaf) parquet.Node {
	switch l.Kind {
	case "bool":
		return parquet.Leaf(parquet.BooleanType)
	case "int8", "int16", "int32", "int64":
		return parquet.Int(8 * l.Size)
	case "uint8", "uint16", "uint32", "uint64":
		return parquet.Uint(8 * l.Size)
	case "float32":
		return parquet.Leaf(parquet.FloatType)
	case "float64":
		return parquet.Leaf(parquet.DoubleType)
	case "fixed":
		return parquet.Leaf(parquet.FixedLenByteArrayType(l.Size))
	case "string":
		return parquet.String()
	case "symbol":
		return parquet.Encoded(parquet.String(), &parquet.RLEDictionary)
	}
	return parquet.Leaf(parquet.ByteArrayType)
}

// schema returns the Parquet schema of leaves.
func schema(leaves []Leaf) *parquet.Schema {
	g := orderedGroup{Group: parquet.Group{}}
	for _, l := range leaves {
		g.Group[l.Name] = Node(l)
		g.order = append(g.order, l.Name)
	}
	return parquet.NewSchema("table", g)
}

// Parquet writes the table's rows to w as one Parquet file, streaming: it
// holds one row group at a time ([Options.RowGroupBytes]), so a table of
// any size exports in a fixed amount of memory. The rows are a prefix of
// the table (its length when the export starts): a writer may go on
// appending. It returns the rows written.
func Parquet[R any](t *table.Table[R], w io.Writer, opts *Options) (int, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	src, err := newSource(t, o.rows())
	if err != nil {
		return 0, err
	}
	pw, err := newParquetWriter(w, src.cols, src.leaves, &o)
	if err != nil {
		return 0, err
	}
	rowsPerGroup := o.rowsPerGroup(src)
	// Row groups are encoded and compressed by up to GOMAXPROCS
	// goroutines at once (parquet-go's concurrent row groups), and
	// committed to the file in order: at most that many are held.
	type job struct {
		rg   *parquet.ConcurrentRowGroupWriter
		end  int
		done chan error
	}
	var jobs []*job
	var firstErr error
	commit := func() error {
		j := jobs[0]
		jobs = jobs[1:]
		err := <-j.done
		if err == nil {
			_, err = j.rg.Commit()
		}
		if err == nil && o.Progress != nil {
			o.Progress(j.end, src.rows)
		}
		return err
	}
	workers := max(1, min(runtime.GOMAXPROCS(0), 4))
	for start := 0; start < src.rows && firstErr == nil; start += rowsPerGroup {
		if len(jobs) == workers {
			firstErr = commit()
		}
		j := &job{rg: pw.w.BeginRowGroup(), end: min(start+rowsPerGroup, src.rows), done: make(chan error, 1)}
		jobs = append(jobs, j)
		go func(start int) {
			vals := make([]parquet.Value, block)
			cols := j.rg.ColumnWriters()
			for at := start; at < j.end; at += block {
				if err := writeValues(cols, pw.leaves, src, nil, at, min(block, j.end-at), vals); err != nil {
					j.done <- err
					return
				}
			}
			j.done <- j.rg.Flush()
		}(start)
	}
	for len(jobs) > 0 {
		if err := commit(); firstErr == nil {
			firstErr = err
		}
	}
	if firstErr != nil {
		return 0, fmt.Errorf("export: %w", errors.Join(firstErr, pw.w.Close()))
	}
	if err := pw.w.Close(); err != nil {
		return src.rows, fmt.Errorf("export: %w", err)
	}
	return src.rows, nil
}

// rowsPerGroup is how many rows of src fill a row group.
func (o *Options) rowsPerGroup(src *source) int {
	limit := o.RowGroupBytes
	if limit <= 0 {
		limit = defaultRowGroupBytes
	}
	width := 0
	for _, c := range src.cols {
		width += c.Layout.Size
		if c.Variable() {
			width += 32 // a guess at a value's bytes; the element is counted above
		}
	}
	return max(block, limit/max(width, 1))
}

// parquetWriter writes blocks of rows to one Parquet file, leaf by leaf.
type parquetWriter struct {
	w      *parquet.GenericWriter[any]
	cols   []*parquet.ColumnWriter
	leaves []Leaf
	vals   []parquet.Value
}

func newParquetWriter(w io.Writer, cols []persistence.ColumnSpec, leaves []Leaf, o *Options) (*parquetWriter, error) {
	codec, err := o.codec()
	if err != nil {
		return nil, err
	}
	meta, err := json.Marshal(cols)
	if err != nil {
		return nil, err
	}
	var symbols []string
	for _, l := range leaves {
		if l.Kind == "symbol" {
			symbols = append(symbols, l.Name)
		}
	}
	pw := parquet.NewGenericWriter[any](w, schema(leaves), parquet.Compression(codec),
		parquet.CreatedBy("github.com/mmapvec/persistence", "", ""),
		parquet.KeyValueMetadata(SymbolsKey, strings.Join(symbols, ",")),
		parquet.KeyValueMetadata(ColumnsKey, string(meta)))
	return &parquetWriter{w: pw, cols: pw.ColumnWriters(), leaves: leaves, vals: make([]parquet.Value, 0, block)}, nil
}

// write writes rows idx of src, or with idx nil rows [start, start+n).
func (pw *parquetWriter) write(src *source, idx []int, start, n int) error {
	if idx != nil {
		n = len(idx)
	}
	if cap(pw.vals) < n {
		pw.vals = make([]parquet.Value, n)
	}
	return writeValues(pw.cols, pw.leaves, src, idx, start, n, pw.vals)
}

// writeValues writes rows idx of src, or with idx nil rows [start,
// start+n), to the column writers cols of leaves: for each leaf, one slice
// of values (vals, of room for n), which for strings and bytes point into
// the table's mapping (the column writer copies them). Each kind has its
// own loop over the column's elements.
func writeValues(cols []*parquet.ColumnWriter, leaves []Leaf, src *source, idx []int, start, n int, vals []parquet.Value) error {
	if idx != nil {
		n = len(idx)
	}
	v := vals[:n]
	row := func(j int) int { return start + j }
	if idx != nil {
		row = func(j int) int { return idx[j] }
	}
	ne := binary.NativeEndian
	for k := range leaves {
		l := &leaves[k]
		size := src.cols[l.col].Layout.Size
		// e is the leaf's bytes in the first row, and each row's lie
		// size bytes further on.
		e := src.mems[l.col].Elems[min(l.Off, len(src.mems[l.col].Elems)):]
		if idx == nil && n > 0 {
			e = e[start*size:]
			switch l.Kind {
			case "int64", "uint64":
				for j := range v {
					v[j] = parquet.Int64Value(int64(ne.Uint64(e[j*size:])))
				}
				goto write
			case "float64":
				for j := range v {
					v[j] = parquet.DoubleValue(math.Float64frombits(ne.Uint64(e[j*size:])))
				}
				goto write
			case "int32", "uint32":
				for j := range v {
					v[j] = parquet.Int32Value(int32(ne.Uint32(e[j*size:])))
				}
				goto write
			case "float32":
				for j := range v {
					v[j] = parquet.FloatValue(math.Float32frombits(ne.Uint32(e[j*size:])))
				}
				goto write
			}
			e = src.mems[l.col].Elems[min(l.Off, len(src.mems[l.col].Elems)):]
		}
		switch l.Kind {
		case "bool":
			for j := range v {
				v[j] = parquet.BooleanValue(e[row(j)*size] != 0)
			}
		case "int8":
			for j := range v {
				v[j] = parquet.Int32Value(int32(int8(e[row(j)*size])))
			}
		case "uint8":
			for j := range v {
				v[j] = parquet.Int32Value(int32(e[row(j)*size]))
			}
		case "int16":
			for j := range v {
				v[j] = parquet.Int32Value(int32(int16(ne.Uint16(e[row(j)*size:]))))
			}
		case "uint16":
			for j := range v {
				v[j] = parquet.Int32Value(int32(ne.Uint16(e[row(j)*size:])))
			}
		case "int32", "uint32":
			for j := range v {
				v[j] = parquet.Int32Value(int32(ne.Uint32(e[row(j)*size:])))
			}
		case "int64", "uint64":
			for j := range v {
				v[j] = parquet.Int64Value(int64(ne.Uint64(e[row(j)*size:])))
			}
		case "float32":
			for j := range v {
				v[j] = parquet.FloatValue(math.Float32frombits(ne.Uint32(e[row(j)*size:])))
			}
		case "float64":
			for j := range v {
				v[j] = parquet.DoubleValue(math.Float64frombits(ne.Uint64(e[row(j)*size:])))
			}
		case "fixed":
			for j := range v {
				at := row(j) * size
				v[j] = parquet.FixedLenByteArrayValue(e[at : at+l.Size])
			}
		default:
			empty := []byte{} // a nil slice is a null Value
			for j := range v {
				b := src.value(l, row(j))
				if b == nil {
					b = empty
				}
				v[j] = parquet.ByteArrayValue(b)
			}
		}
	write:
		if _, err := cols[k].WriteRowValues(v); err != nil {
			return fmt.Errorf("export: column %q: %w", l.Name, err)
		}
	}
	return src.failed()
}
