package table

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/mmapvec/persistence"
	"github.com/mmapvec/persistence/internal/layout"
	"github.com/mmapvec/persistence/internal/names"
)

// schemaOf derives the columns of a record type: each exported field is a
// column named by the field or by its `persist:"name"` tag; `persist:"-"`
// skips a field.
func schemaOf(t reflect.Type) ([]persistence.ColumnSpec, error) {
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("%w: %s is a %s; a table row must be a struct", ErrType, t, t.Kind())
	}
	var cols []persistence.ColumnSpec
	seen := map[string]string{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag, hasTag := f.Tag.Lookup("persist")
		if tag == "-" || (!f.IsExported() && !hasTag) {
			continue
		}
		if !f.IsExported() {
			return nil, fmt.Errorf("%w: %s field %s is unexported but has a persist tag; export it", ErrType, t, f.Name)
		}
		name := f.Name
		if tag != "" {
			name = tag
		}
		if err := names.Validate(name); err != nil {
			return nil, fmt.Errorf("%w: %s field %s: %v", ErrType, t, f.Name, err)
		}
		l, err := layout.Of(f.Type)
		if err != nil {
			return nil, fmt.Errorf("%w: %s field %s: %w", ErrType, t, f.Name, err)
		}
		if l.Size == 0 {
			return nil, fmt.Errorf("%w: %s field %s has size 0; skip it with `persist:\"-\"`", ErrType, t, f.Name)
		}
		if other, dup := seen[strings.ToLower(name)]; dup {
			return nil, fmt.Errorf("%w: %s fields %s and %s both map to column %q (names are case-insensitive)", ErrType, t, other, f.Name, name)
		}
		seen[strings.ToLower(name)] = f.Name
		cols = append(cols, persistence.ColumnSpec{Field: f.Name, Name: name, File: name + ".col", Offset: int(f.Offset), Layout: l})
	}
	if len(cols) == 0 {
		return nil, fmt.Errorf("%w: %s has no exported fields to store", ErrType, t)
	}
	return cols, nil
}
