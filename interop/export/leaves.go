package export

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/mmapvec/persistence"
	"github.com/mmapvec/persistence/table"
)

// A leaf is one flat output column: a scalar inside a column's element
// (struct fields and array items each their own leaf), a [N]byte run, or
// a string, bytes or symbol column's value.
type Leaf struct {
	Name   string // the column's name, then the path inside its element: "pos.X", "hist.0.Count"
	Column string // the table column it comes from
	Kind   string // "bool", "int8".."uint64", "float32", "float64", "fixed" ([N]byte), "string", "bytes", "symbol"
	Off    int    // byte offset in the element (fixed-size columns)
	Size   int    // bytes of the scalar, or N of a [N]byte
	col    int    // index of its column in the plan
}

// Leaves flattens a manifest's columns into leaves, in column order. A
// column whose element is one scalar keeps its name; struct fields add
// ".Field", array items ".i", and a byte array is one fixed leaf; complex
// numbers are two float leaves, ".real" and ".imag".
func Leaves(cols []persistence.ColumnSpec) ([]Leaf, error) {
	var out []Leaf
	for ci, c := range cols {
		if c.Variable() {
			out = append(out, Leaf{Name: c.Name, Column: c.Name, Kind: c.Kind, col: ci})
			continue
		}
		for _, l := range c.Layout.Leaves {
			dims := l.Dims
			bytesRun, ok := ByteRun(l)
			if ok {
				dims = dims[:len(dims)-1]
			}
			var expand func(path string, off int, d int) error
			expand = func(path string, off int, d int) error {
				if d < len(dims) {
					for i := range dims[d].Count {
						p := strings.Replace(path, "[]", "."+strconv.Itoa(i), 1)
						if err := expand(p, off+i*dims[d].Stride, d+1); err != nil {
							return err
						}
					}
					return nil
				}
				path = strings.TrimSuffix(path, "[]") // the byte run's own level
				name := c.Name
				if path != "" {
					if !strings.HasPrefix(path, ".") {
						path = "." + path
					}
					name += path
				}
				switch {
				case bytesRun > 0:
					out = append(out, Leaf{Name: name, Column: c.Name, Kind: "fixed", Off: off, Size: bytesRun, col: ci})
				case l.Kind == "complex64" || l.Kind == "complex128":
					k, h := "float32", 4
					if l.Kind == "complex128" {
						k, h = "float64", 8
					}
					out = append(out, Leaf{Name: name + ".real", Column: c.Name, Kind: k, Off: off, Size: h, col: ci},
						Leaf{Name: name + ".imag", Column: c.Name, Kind: k, Off: off + h, Size: h, col: ci})
				default:
					k := l.Kind
					switch k {
					case "int", "uint", "uintptr":
						k = strings.TrimSuffix(k, "ptr") + strconv.Itoa(8*l.Size)
					}
					if _, ok := scalarKinds[k]; !ok {
						return fmt.Errorf("%w: column %q: %s", ErrUnsupported, c.Name, l.Kind)
					}
					out = append(out, Leaf{Name: name, Column: c.Name, Kind: k, Off: off, Size: l.Size, col: ci})
				}
				return nil
			}
			if err := expand(l.Path, l.Offset, 0); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// ByteRun reports whether leaf l of a layout is a [N]byte, which [Leaves]
// makes one fixed leaf of N bytes, and returns N: the innermost array's
// element is the byte itself (not a one-byte struct, whose path goes on
// past the "[]").
func ByteRun(l persistence.Leaf) (int, bool) {
	d := l.Dims
	if l.Kind == "uint8" && len(d) > 0 && d[len(d)-1].Stride == 1 && strings.HasSuffix(l.Path, "[]") {
		return d[len(d)-1].Count, true
	}
	return 0, false
}

var scalarKinds = map[string]bool{"bool": true, "int8": true, "int16": true, "int32": true, "int64": true,
	"uint8": true, "uint16": true, "uint32": true, "uint64": true, "float32": true, "float64": true}

// source reads a table's rows [0, Rows) column by column, from the
// mapping, without a copy.
type source struct {
	cols   []persistence.ColumnSpec
	mems   []table.ColumnMemory
	leaves []Leaf
	rows   int
	// changed is the first value found pointing past the memory taken:
	// set in place by a writer after the export began (see changedAt).
	changed atomic.Pointer[error]
}

// newSource takes the table's first rows rows (its length when rows < 0):
// the prefix it reads, which later appends never change.
func newSource[R any](t *table.Table[R], rows int) (*source, error) {
	m := t.Manifest()
	s := &source{cols: m.Columns}
	var err error
	if s.leaves, err = Leaves(m.Columns); err != nil {
		return nil, err
	}
	err = t.Consistent(func() error {
		s.rows = rows
		if rows < 0 || rows > t.Len() {
			s.rows = t.Len()
		}
		s.mems = make([]table.ColumnMemory, len(m.Columns))
		for i, c := range m.Columns {
			var err error
			if s.mems[i], err = t.Memory(c.Name, s.rows); err != nil {
				return err
			}
		}
		return nil
	})
	return s, err
}

// elem returns row i's element of the leaf's column.
func (s *source) elem(l *Leaf, i int) []byte {
	size := s.cols[l.col].Layout.Size
	return s.mems[l.col].Elems[i*size : (i+1)*size]
}

// value returns row i's value of a string, bytes or symbol leaf, sharing
// the mapping. A value the writer set in place after the export took the
// memory may lie past it: that row is then read as empty and the export
// fails (changedAt).
func (s *source) value(l *Leaf, i int) []byte {
	m := &s.mems[l.col]
	e := s.elem(l, i)
	var start, end uint64
	if l.Kind == persistence.KindSymbol {
		code := uint64(binary.NativeEndian.Uint32(e))
		if code == 0 {
			return nil
		}
		if code > uint64(len(m.Ends)) {
			return s.changedAt(l, i)
		}
		if code > 1 {
			start = m.Ends[code-2]
		}
		end = m.Ends[code-1]
	} else {
		start, end = binary.NativeEndian.Uint64(e), binary.NativeEndian.Uint64(e[8:])
	}
	if start > end || end > uint64(len(m.Heap)) {
		return s.changedAt(l, i)
	}
	return m.Heap[start:end]
}

// changedAt records that row i of l's column points past the memory the
// export took, which only a change in place made after it began does (the
// rows were checked against it then), and returns an empty value.
func (s *source) changedAt(l *Leaf, i int) []byte {
	err := fmt.Errorf("%w: row %d of column %q was set in place while the export read it; "+
		"export a snapshot (table.Snapshot) of a table whose writer changes rows in place", table.ErrChanged, i, l.Column)
	s.changed.CompareAndSwap(nil, &err)
	return []byte{}
}

// failed returns the error changedAt recorded, if any.
func (s *source) failed() error {
	if err := s.changed.Load(); err != nil {
		return *err
	}
	return nil
}

// scalar reads a numeric or bool leaf of row i as the three forms a
// writer needs: signed, unsigned and float bits, one of them meaningful
// by kind.
func (s *source) int64(l *Leaf, i int) int64 {
	b := s.elem(l, i)[l.Off:]
	switch l.Kind {
	case "bool", "uint8":
		return int64(b[0])
	case "int8":
		return int64(int8(b[0]))
	case "int16":
		return int64(int16(binary.NativeEndian.Uint16(b)))
	case "uint16":
		return int64(binary.NativeEndian.Uint16(b))
	case "int32":
		return int64(int32(binary.NativeEndian.Uint32(b)))
	case "uint32":
		return int64(binary.NativeEndian.Uint32(b))
	}
	return int64(binary.NativeEndian.Uint64(b))
}

func (s *source) float64(l *Leaf, i int) float64 {
	b := s.elem(l, i)[l.Off:]
	if l.Kind == "float32" {
		return float64(math.Float32frombits(binary.NativeEndian.Uint32(b)))
	}
	return math.Float64frombits(binary.NativeEndian.Uint64(b))
}

func (s *source) fixed(l *Leaf, i int) []byte {
	return s.elem(l, i)[l.Off : l.Off+l.Size]
}

// text formats row i's value of leaf l as CSV holds it: integers and
// floats as Go prints them (floats round-trip), bools as true and false,
// strings and symbols as they are, []byte and [N]byte as hex.
func (s *source) appendText(dst []byte, l *Leaf, i int) []byte {
	switch l.Kind {
	case "string", "symbol":
		return append(dst, s.value(l, i)...)
	case "bytes":
		return appendHex(dst, s.value(l, i))
	case "fixed":
		return appendHex(dst, s.fixed(l, i))
	case "bool":
		return strconv.AppendBool(dst, s.int64(l, i) != 0)
	case "float32":
		return appendFloat(dst, s.float64(l, i), 32)
	case "float64":
		return appendFloat(dst, s.float64(l, i), 64)
	case "uint64":
		return strconv.AppendUint(dst, uint64(s.int64(l, i)), 10)
	}
	return strconv.AppendInt(dst, s.int64(l, i), 10)
}

// appendFloat appends f in the shortest form that reads back to the same
// bits, with a decimal point when it has neither one nor an exponent (1.0,
// not 1), so that a reader that infers types takes a float column for
// floats.
func appendFloat(dst []byte, f float64, bits int) []byte {
	n := len(dst)
	dst = strconv.AppendFloat(dst, f, 'g', -1, bits)
	if !bytes.ContainsAny(dst[n:], ".eIN") {
		dst = append(dst, '.', '0')
	}
	return dst
}

func appendHex(dst, b []byte) []byte {
	const digits = "0123456789abcdef"
	for _, c := range b {
		dst = append(dst, digits[c>>4], digits[c&15])
	}
	return dst
}
