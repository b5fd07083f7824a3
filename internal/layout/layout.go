// Package layout computes the canonical memory layout of a fixed-size,
// pointer-free Go type (size, alignment, each scalar leaf with its place)
// and refuses every other type with an *errs.TypeError naming the field.
package layout

import (
	"fmt"
	"hash/fnv"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/mmapvec/persistence/internal/errs"
)

// Layout is the canonical memory layout of an element type: its size and
// alignment and each scalar leaf with its place. It is what a column file's
// type fingerprint hashes and what a table's manifest records, and it is
// enough to byte-swap or re-lay data for another architecture.
type Layout struct {
	Size   int    `json:"size"`
	Align  int    `json:"align"`
	Leaves []Leaf `json:"leaves"`
}

// Leaf is one scalar of a layout. A scalar inside arrays repeats: Dims lists,
// outermost first, each enclosing array's length and stride in bytes.
type Leaf struct {
	Path   string `json:"path"` // e.g. "Pos.X", "Hist[].Count"; "" for a scalar element
	Kind   string `json:"kind"` // reflect.Kind name: "int64", "float32", "bool", ...
	Offset int    `json:"offset"`
	Size   int    `json:"size"`
	Dims   []Dim  `json:"dims,omitempty"`
}

// Dim is one array level around a leaf.
type Dim struct {
	Count  int `json:"count"`
	Stride int `json:"stride"`
}

// String renders the layout canonically; equal layouts render equally.
func (l Layout) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "size=%d align=%d", l.Size, l.Align)
	for _, f := range l.Leaves {
		fmt.Fprintf(&b, "; %s %s@%d/%d", f.Path, f.Kind, f.Offset, f.Size)
		for _, d := range f.Dims {
			fmt.Fprintf(&b, " [%d]*%d", d.Count, d.Stride)
		}
	}
	return b.String()
}

// Fingerprint is a 64-bit FNV-1a hash of [Layout.String].
func (l Layout) Fingerprint() uint64 {
	h := fnv.New64a()
	h.Write([]byte(l.String()))
	return h.Sum64()
}

// Equal reports whether two layouts are the same.
func (l Layout) Equal(o Layout) bool { return l.String() == o.String() }

// Of returns the canonical layout of t, or an [*errs.TypeError] (matching
// [errs.ErrType]) naming the first field that is not fixed-size and
// pointer-free.
func Of(t reflect.Type) (Layout, error) {
	if t == nil {
		return Layout{}, &errs.TypeError{Type: "nil", Path: "", Kind: "interface", Hint: hintFor(reflect.Interface)}
	}
	l := Layout{Size: int(t.Size()), Align: t.Align()}
	if err := walk(t, t.String(), "", 0, nil, &l.Leaves); err != nil {
		return Layout{}, err
	}
	return l, nil
}

// For is [Of] for a type parameter.
func For[T any]() (Layout, error) {
	return Of(reflect.TypeFor[T]())
}

func walk(t reflect.Type, root, path string, off int, dims []Dim, out *[]Leaf) error {
	switch k := t.Kind(); k {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		*out = append(*out, Leaf{Path: path, Kind: k.String(), Offset: off, Size: int(t.Size()), Dims: dims})
		return nil
	case reflect.Array:
		if t.Len() == 0 {
			return nil // zero bytes, nothing to lay out
		}
		d := append(append([]Dim(nil), dims...), Dim{Count: t.Len(), Stride: int(t.Elem().Size())})
		return walk(t.Elem(), root, path+"[]", off, d, out)
	case reflect.Struct:
		if t == timeType {
			// Its location pointer would otherwise be reported, with advice
			// about indexes that does not fit a timestamp.
			kind := t.String()
			if path == "" {
				kind = "struct" // "time.Time is a struct", not "is a time.Time"
			}
			return &errs.TypeError{Type: root, Path: path, Kind: kind,
				Hint: "store it as int64 Unix nanoseconds (t.UnixNano(); read back with time.Unix(0, n))"}
		}
		for i := range t.NumField() {
			f := t.Field(i)
			p := f.Name
			if path != "" {
				p = path + "." + f.Name
			}
			if f.Name == "_" {
				p = path + "._" + strconv.Itoa(i) // blank padding fields still hold bytes
			}
			if err := walk(f.Type, root, p, off+int(f.Offset), dims, out); err != nil {
				return err
			}
		}
		return nil
	default:
		return &errs.TypeError{Type: root, Path: path, Kind: k.String(), Hint: hintFor(k)}
	}
}

var timeType = reflect.TypeFor[time.Time]()

func hintFor(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "a fixed-size value cannot hold one: use a fixed [N]byte array, or, in a table, make it a field of the row (a string column of its own)"
	case reflect.Slice:
		return "a fixed-size value cannot hold one: use a fixed-size array [N]T, or, for bytes in a table, a []byte field of the row (a column of its own)"
	case reflect.Map:
		return "store keys and values in columns of their own"
	case reflect.Pointer, reflect.UnsafePointer, reflect.Uintptr:
		return "store an index (int64/uint32) into another column instead of a pointer"
	case reflect.Interface:
		return "use a concrete fixed-size type (time.Time: store int64 Unix nanoseconds)"
	default:
		return "use only bool, integers, floats, complex numbers, and arrays and structs of them"
	}
}
