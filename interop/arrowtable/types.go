package arrowtable

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/mmapvec/persistence"
)

// node is one level of a column's element type, rebuilt from the leaves of
// its layout: a scalar, an array of count elements, or a struct.
type node struct {
	kind   string // a leaf's reflect kind; "array" or "struct" otherwise
	name   string // field name inside its struct
	size   int    // scalar size in bytes
	offset int    // where its first instance lies in the column's element
	count  int    // array: length
	stride int    // array: bytes between elements
	elem   *node  // array: element
	fields []*node
}

// tree rebuilds the element type of a column from its layout's leaves:
// each leaf's path ("Pos.X", "Hist[].Count", "[]") names the struct fields
// and arrays around it, and its dims give each array's length and stride.
func tree(l persistence.Layout) (*node, error) {
	var root *node
	for _, leaf := range l.Leaves {
		n, err := place(&root, leaf)
		if err != nil {
			return nil, err
		}
		n.kind, n.size, n.offset = leaf.Kind, leaf.Size, leaf.Offset
		if half, ok := complexParts[leaf.Kind]; ok {
			// Arrow has no complex numbers: a struct of the two parts.
			n.kind, n.fields = "struct", []*node{
				{name: "real", kind: half, size: leaf.Size / 2, offset: leaf.Offset},
				{name: "imag", kind: half, size: leaf.Size / 2, offset: leaf.Offset + leaf.Size/2},
			}
		}
	}
	if root == nil {
		return nil, fmt.Errorf("%w: an element of no bytes", ErrUnsupported)
	}
	root.settle()
	return root, nil
}

// settle sets the offset of each array and struct: that of its first
// scalar (Go lays a struct's fields out in order, the first at its start).
func (n *node) settle() int {
	switch n.kind {
	case "array":
		n.offset = n.elem.settle()
	case "struct":
		for i, f := range n.fields {
			if o := f.settle(); i == 0 {
				n.offset = o
			}
		}
	}
	return n.offset
}

// blank reports whether a struct field is padding (a field named _),
// whose bytes the layout records but no reader wants.
func (n *node) blank() bool {
	return strings.HasPrefix(n.name, "_") && strings.Trim(n.name[1:], "0123456789") == ""
}

// place walks leaf's path down from *at, making the levels it lacks, and
// returns the scalar's node, still of no kind.
func place(at **node, leaf persistence.Leaf) (*node, error) {
	dims := leaf.Dims
	level := func(kind string) (*node, error) {
		if *at == nil {
			*at = &node{}
		}
		if n := *at; n.kind == "" {
			n.kind = kind
		}
		if (*at).kind != kind {
			return nil, fmt.Errorf("%w: leaf %q does not fit its siblings", ErrUnsupported, leaf.Path)
		}
		return *at, nil
	}
	for _, step := range steps(leaf.Path) {
		if step == "[]" {
			if len(dims) == 0 {
				return nil, fmt.Errorf("%w: leaf %q: an array without its length", ErrUnsupported, leaf.Path)
			}
			a, err := level("array")
			if err != nil {
				return nil, err
			}
			a.count, a.stride = dims[0].Count, dims[0].Stride
			at, dims = &a.elem, dims[1:]
			continue
		}
		s, err := level("struct")
		if err != nil {
			return nil, err
		}
		i := len(s.fields) - 1
		if i < 0 || s.fields[i].name != step {
			// A struct's leaves come in field order: a field's are adjacent.
			s.fields = append(s.fields, &node{name: step})
			i++
		}
		at = &s.fields[i]
	}
	if *at == nil {
		*at = &node{}
	}
	if (*at).kind != "" {
		return nil, fmt.Errorf("%w: leaf %q repeats", ErrUnsupported, leaf.Path)
	}
	return *at, nil
}

// steps splits a leaf's path into field names and "[]" for each array.
func steps(path string) []string {
	var out []string
	for path != "" {
		switch {
		case strings.HasPrefix(path, "[]"):
			out, path = append(out, "[]"), path[2:]
		case path[0] == '.':
			path = path[1:]
		default:
			end := strings.IndexAny(path, ".[")
			if end < 0 {
				end = len(path)
			}
			out, path = append(out, path[:end]), path[end:]
		}
	}
	return out
}

// complexParts gives the kind of each part of a complex number.
var complexParts = map[string]string{"complex64": "float32", "complex128": "float64"}

// scalarType is the Arrow type of a Go scalar kind.
func scalarType(kind string) (arrow.DataType, bool) {
	switch kind {
	case "bool":
		return arrow.FixedWidthTypes.Boolean, true
	case "int8":
		return arrow.PrimitiveTypes.Int8, true
	case "int16":
		return arrow.PrimitiveTypes.Int16, true
	case "int32":
		return arrow.PrimitiveTypes.Int32, true
	case "int64", "int":
		return arrow.PrimitiveTypes.Int64, true
	case "uint8":
		return arrow.PrimitiveTypes.Uint8, true
	case "uint16":
		return arrow.PrimitiveTypes.Uint16, true
	case "uint32":
		return arrow.PrimitiveTypes.Uint32, true
	case "uint64", "uint":
		return arrow.PrimitiveTypes.Uint64, true
	case "float32":
		return arrow.PrimitiveTypes.Float32, true
	case "float64":
		return arrow.PrimitiveTypes.Float64, true
	}
	return nil, false
}
