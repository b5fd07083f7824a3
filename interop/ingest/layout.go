package ingest

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/mmapvec/persistence"
	"github.com/mmapvec/persistence/interop/export"
	"github.com/mmapvec/persistence/table"
)

// A file the export package wrote names the table columns its flat
// columns came from (export.ColumnsKey): an import into a new table makes
// those columns again, nested values and all, so that a table exported
// and imported holds the same rows in the same columns. Each column's Go
// type is rebuilt from its layout; a layout this cannot rebuild exactly
// (checked against the new table's manifest) leaves the flat columns.

// tableColumns returns the columns recorded in a file's metadata, if
// they are the ones its flat columns come from.
func tableColumns(meta string, file []fileCol) []persistence.ColumnSpec {
	var cols []persistence.ColumnSpec
	if meta == "" || json.Unmarshal([]byte(meta), &cols) != nil || len(cols) == 0 || !fitsFile(cols, len(file)) {
		return nil
	}
	leaves, err := export.Leaves(cols)
	if err != nil || len(leaves) != len(file) {
		return nil
	}
	for i, l := range leaves {
		f := file[i]
		if l.Name != f.name || l.Kind != f.kind || (l.Kind == "fixed" && l.Size != f.size) {
			return nil
		}
	}
	return cols
}

// fitsFile reports whether cols, as a file's metadata gives them, flatten
// to at most n columns with arrays of at least one item, counted before
// anything is expanded: the metadata is the file's, and a crafted count
// would otherwise cost memory without bound (counts multiply across
// levels) or reach reflect.ArrayOf negative.
func fitsFile(cols []persistence.ColumnSpec, n int) bool {
	total := 0
	for _, c := range cols {
		if c.Variable() {
			total++
			continue
		}
		for _, l := range c.Layout.Leaves {
			dims := l.Dims
			if _, ok := export.ByteRun(l); ok {
				dims = dims[:len(dims)-1] // a [N]byte run is one column
			}
			leaves := 1
			for _, d := range dims {
				if d.Count < 1 || d.Stride < 0 {
					return false
				}
				if leaves > n/d.Count {
					return false
				}
				leaves *= d.Count
			}
			if total += leaves; total > 2*n { // complex numbers are two leaves
				return false
			}
		}
	}
	return true
}

// goTypeOf rebuilds the Go type of a column from its kind and layout.
func goTypeOf(c persistence.ColumnSpec) (reflect.Type, bool) {
	switch c.Kind {
	case persistence.KindString:
		return reflect.TypeFor[string](), true
	case persistence.KindBytes:
		return reflect.TypeFor[[]byte](), true
	case persistence.KindSymbol:
		return reflect.TypeFor[table.Symbol](), true
	case "":
		return typeOf(c.Layout.Leaves, 0)
	}
	return nil, false
}

var scalarTypes = map[string]reflect.Type{
	"bool": reflect.TypeFor[bool](), "int": reflect.TypeFor[int](), "uint": reflect.TypeFor[uint](), "uintptr": reflect.TypeFor[uintptr](),
	"int8": reflect.TypeFor[int8](), "int16": reflect.TypeFor[int16](), "int32": reflect.TypeFor[int32](), "int64": reflect.TypeFor[int64](),
	"uint8": reflect.TypeFor[uint8](), "uint16": reflect.TypeFor[uint16](), "uint32": reflect.TypeFor[uint32](), "uint64": reflect.TypeFor[uint64](),
	"float32": reflect.TypeFor[float32](), "float64": reflect.TypeFor[float64](),
	"complex64": reflect.TypeFor[complex64](), "complex128": reflect.TypeFor[complex128](),
}

// typeOf rebuilds the type whose layout leaves are ls, their paths and
// offsets relative to it, dims from level d on.
func typeOf(ls []persistence.Leaf, d int) (reflect.Type, bool) {
	if len(ls) == 0 {
		return nil, false
	}
	if len(ls) == 1 && ls[0].Path == "" && d == len(ls[0].Dims) {
		t, ok := scalarTypes[ls[0].Kind]
		return t, ok && ls[0].Offset == 0
	}
	if strings.HasPrefix(ls[0].Path, "[]") {
		// An array: every leaf is inside its element.
		if d >= len(ls[0].Dims) {
			return nil, false
		}
		dim := ls[0].Dims[d]
		inner := make([]persistence.Leaf, len(ls))
		for i, l := range ls {
			if !strings.HasPrefix(l.Path, "[]") || d >= len(l.Dims) || l.Dims[d] != dim {
				return nil, false
			}
			l.Path = strings.TrimPrefix(strings.TrimPrefix(l.Path, "[]"), ".")
			inner[i] = l
		}
		elem, ok := typeOf(inner, d+1)
		if !ok || int(elem.Size()) != dim.Stride {
			return nil, false
		}
		return reflect.ArrayOf(dim.Count, elem), true
	}
	// A struct: its fields in the order of their leaves.
	var names []string
	groups := map[string][]persistence.Leaf{}
	for _, l := range ls {
		name, rest := l.Path, ""
		if i := strings.IndexAny(name, ".["); i >= 0 {
			name, rest = name[:i], strings.TrimPrefix(name[i:], ".")
		}
		if !isExported(name) {
			return nil, false
		}
		l.Path = rest
		if _, ok := groups[name]; !ok {
			names = append(names, name)
		}
		groups[name] = append(groups[name], l)
	}
	var fields []reflect.StructField
	var offsets []int
	for _, name := range names {
		g := groups[name]
		off := slices.MinFunc(g, func(a, b persistence.Leaf) int { return a.Offset - b.Offset }).Offset
		for i := range g {
			g[i].Offset -= off
		}
		t, ok := typeOf(g, d)
		if !ok {
			return nil, false
		}
		fields = append(fields, reflect.StructField{Name: name, Type: t})
		offsets = append(offsets, off)
	}
	st := reflect.StructOf(fields)
	for i := range fields {
		if int(st.Field(i).Offset) != offsets[i] {
			return nil, false
		}
	}
	return st, true
}

func isExported(name string) bool {
	return name != "" && strings.ToUpper(name[:1]) == name[:1] && strings.ToLower(name[:1]) != name[:1]
}

// createNested makes a new table in dir with the columns cols, each of
// the type its layout says, and reports whether it could: its manifest
// must give every column the layout recorded.
func createNested(dir string, cols []persistence.ColumnSpec, o *Options) (bool, error) {
	fields := make([]reflect.StructField, len(cols))
	for i, c := range cols {
		t, ok := goTypeOf(c)
		if !ok {
			return false, nil
		}
		fields[i] = reflect.StructField{Name: fmt.Sprintf("F%d", i), Type: t, Tag: reflect.StructTag(fmt.Sprintf(`persist:%q`, c.Name))}
	}
	if err := table.Create(dir, reflect.StructOf(fields), o.Table); err != nil {
		return false, err
	}
	tb, err := table.Open[table.Any](dir, &table.Options{ReadOnly: true})
	if err != nil {
		return false, err
	}
	m := tb.Manifest()
	if err := tb.Close(); err != nil {
		return false, err
	}
	for i, c := range m.Columns {
		if c.Name != cols[i].Name || c.Kind != cols[i].Kind || !c.Layout.Equal(cols[i].Layout) {
			return false, nil
		}
	}
	return true, nil
}
