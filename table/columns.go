package table

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/mmapvec/persistence"
	"github.com/mmapvec/persistence/internal/varcol"

	"github.com/mmapvec/persistence/column"
	"github.com/mmapvec/persistence/internal/colset"
	"github.com/mmapvec/persistence/internal/rowcodec"
)

// Column returns a typed view of the column for field (the column name or
// the Go field name). Its Slice is a live []T into the file, stable across
// appends until Close. A T that is not the field's type is an error, never
// a silent cast.
func Column[T any, R any](t *Table[R], field string) (*column.Of[T], error) {
	if err := t.check(false); err != nil {
		return nil, err
	}
	c, err := t.fixedColumn(field)
	if err != nil {
		return nil, err
	}
	return view[T](c)
}

// ReadColumn is [Column] for reading only: its slices come from a
// read-only mapping of the file, so a store through one faults (the
// program dies with SIGSEGV) and Set panics. A column that only such views
// reach costs a Sync nothing beyond its rows: a writable view makes every
// Sync flush the column's whole file, since a slice may have written
// anywhere in it. Use it for scans, exporters and any code that only reads.
func ReadColumn[T any, R any](t *Table[R], field string) (*column.Of[T], error) {
	if err := t.check(false); err != nil {
		return nil, err
	}
	c, err := t.column(field)
	if err != nil {
		return nil, err
	}
	v, err := colset.NewReadOnlyView[T](c)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoColumn, err)
	}
	return (*column.Of[T])(v), nil
}

// spec returns the manifest's column for field that this table maps: the
// column of that name, else the column of that Go field name, else the
// column of that name in any case. Each is looked for among every column
// before the next, so that one column's name never finds another whose Go
// field is so named; a name that finds a column this table does not map
// finds nothing.
func (t *core) spec(field string) (persistence.ColumnSpec, bool) {
	for _, match := range []func(c persistence.ColumnSpec) bool{
		func(c persistence.ColumnSpec) bool { return c.Name == field },
		func(c persistence.ColumnSpec) bool { return c.Field == field },
		func(c persistence.ColumnSpec) bool { return strings.EqualFold(c.Name, field) },
	} {
		if i := slices.IndexFunc(t.man.Columns, match); i >= 0 {
			c := t.man.Columns[i]
			return c, t.colByName(c.Name) != nil
		}
	}
	return persistence.ColumnSpec{}, false
}

// fixedColumn returns the column for field, which must hold fixed-size
// values: the elements of a variable-length column are offsets and codes
// that only the table may write.
func (t *core) fixedColumn(field string) (*colset.Column, error) {
	col, err := t.column(field)
	if err == nil {
		t.viewed(col) // writable: every Sync flushes it from now on
	}
	return col, err
}

// column is fixedColumn for a read-only view, which writes nothing.
func (t *core) column(field string) (*colset.Column, error) {
	c, ok := t.spec(field)
	if !ok {
		return nil, fmt.Errorf("%w: %q in %s (columns: %s)", ErrNoColumn, field, t.dir, t.columnNames())
	}
	if c.Variable() {
		how := "table.Strings"
		if c.Kind == persistence.KindSymbol {
			how = "table.Symbols"
		}
		return nil, fmt.Errorf("%w: column %q holds %s values; view it with %s", ErrNoColumn, c.Name, c.Kind, how)
	}
	return t.colByName(c.Name), nil
}

// varColumn returns the variable-length column for field, of one of kinds.
func (t *core) varColumn(field string, kinds ...string) (*varCol, error) {
	if err := t.check(false); err != nil {
		return nil, err
	}
	c, ok := t.spec(field)
	if !ok {
		return nil, fmt.Errorf("%w: %q in %s (columns: %s)", ErrNoColumn, field, t.dir, t.columnNames())
	}
	for i := range t.vars {
		if v := &t.vars[i]; v.spec.Name == c.Name && slices.Contains(kinds, c.Kind) {
			return v, nil
		}
	}
	kind := c.Kind
	if kind == "" {
		kind = "fixed-size"
	}
	return nil, fmt.Errorf("%w: column %q holds %s values, not %s", ErrNoColumn, c.Name, kind, strings.Join(kinds, " or "))
}

// Strings returns the view of a string or []byte column (by column name or
// Go field name): each value without a copy, valid until Close.
func Strings[R any](t *Table[R], field string) (*column.Strings, error) {
	v, err := t.varColumn(field, persistence.KindString, persistence.KindBytes)
	if err != nil {
		return nil, err
	}
	return (*column.Strings)(varcol.NewStringView(v.col, v.heap)), nil
}

// Symbols returns the view of a [Symbol] column (by column name or Go field
// name): codes, and the strings they stand for.
func Symbols[R any](t *Table[R], field string) (*column.Symbols, error) {
	v, err := t.varColumn(field, persistence.KindSymbol)
	if err != nil {
		return nil, err
	}
	return (*column.Symbols)(varcol.NewSymbolView(v.col, v.dict)), nil
}

// Col returns a typed view of the column that holds the field sel selects,
// with no field name to mistype: table.Col(t, func(p *Particle) *Vec3 { return &p.Pos }).
// A field promoted from a flattened embedded struct is selected as Go
// spells it (&p.X for p.Base.X).
func Col[T any, R any](t *Table[R], sel func(*R) *T) (*column.Of[T], error) {
	if err := t.check(false); err != nil {
		return nil, err
	}
	off, ok := rowcodec.Offset(sel)
	rt := reflect.TypeFor[R]()
	if !ok {
		return nil, fmt.Errorf("%w: the selector does not return a pointer into its %s argument", ErrNoColumn, rt)
	}
	for i, c := range t.schema.cols {
		if uintptr(c.Offset) == off && t.schema.types[i] == reflect.TypeFor[T]() {
			col, err := t.fixedColumn(c.Name)
			if err != nil {
				return nil, err
			}
			return view[T](col)
		}
	}
	return nil, fmt.Errorf("%w: the selector does not pick a stored field of type %s in %s (fields tagged persist:\"-\" and unexported ones are not stored; columns: %s)",
		ErrNoColumn, reflect.TypeFor[T](), rt, t.columnNames())
}

// view returns the typed view of c, or why T does not fit it.
func view[T any](c *colset.Column) (*column.Of[T], error) {
	v, err := colset.NewView[T](c)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoColumn, err)
	}
	return (*column.Of[T])(v), nil
}

func (t *core) colByName(name string) *colset.Column {
	for _, c := range t.set.Columns() {
		if c.Name() == name {
			return c
		}
	}
	return nil
}

func (t *core) columnNames() string {
	var names []string
	for _, c := range t.set.Columns() {
		names = append(names, c.Name())
	}
	return strings.Join(names, ", ")
}
