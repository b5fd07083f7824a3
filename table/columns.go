package table

import (
	"fmt"
	"reflect"
	"strings"

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
	for i, c := range t.man.Columns {
		if c.Name == field || c.Field == field || strings.EqualFold(c.Name, field) {
			return view[T](t.colByName(t.man.Columns[i].Name))
		}
	}
	return nil, fmt.Errorf("%w: %q in %s (columns: %s)", ErrNoColumn, field, t.dir, t.columnNames())
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
			return view[T](t.colByName(c.Name))
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

func (t *Table[R]) colByName(name string) *colset.Column {
	for _, c := range t.set.Columns() {
		if c.Name() == name {
			return c
		}
	}
	return nil
}

func (t *Table[R]) columnNames() string {
	var names []string
	for _, c := range t.set.Columns() {
		names = append(names, c.Name())
	}
	return strings.Join(names, ", ")
}
