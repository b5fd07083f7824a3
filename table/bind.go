package table

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/mmapvec/persistence/column"
	"github.com/mmapvec/persistence/internal/colset"
	"github.com/mmapvec/persistence/internal/layout"
)

// Bind sets every field of the struct dst points to whose type is
// *column.Of[T] to the view of the column of that name: the field's name,
// or the name in its `persist:"name"` tag, matched as [Column] matches
// (column name, Go field name, or column name in any case). It is how a
// system of an entity-component program gets all its columns with one
// error check:
//
//	var move struct {
//		Pos *column.Of[Vec3]
//		Vel *column.Of[Vec3]
//	}
//	if err := table.Bind(t, &move); err != nil { ... }
//
// Other fields, and fields tagged `persist:"-"`, are left alone. Each T
// must be its column's type, as for [Column]. Bind sets all fields or none:
// on error dst is unchanged, and the error (matching [ErrNoColumn], or
// [ErrType] for a dst that is not a pointer to a struct) names every field
// that failed.
func Bind[R any](t *Table[R], dst any) error {
	if err := t.check(false); err != nil {
		return err
	}
	v := reflect.ValueOf(dst)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("%w: Bind needs a non-nil pointer to a struct of *column.Of fields, not %T", ErrType, dst)
	}
	sv := v.Elem()
	st := sv.Type()
	type binding struct {
		field int
		view  reflect.Value
	}
	var binds []binding
	var errs []error
	for i := range st.NumField() {
		f := st.Field(i)
		tag, _ := f.Tag.Lookup("persist")
		elem, isView := viewElem(f.Type)
		if tag == "-" || (!isView && !isViewStruct(f.Type)) {
			continue
		}
		if !isView {
			errs = append(errs, fmt.Errorf("field %s is a %s; make it a pointer, *%[2]s", f.Name, f.Type))
			continue
		}
		if !f.IsExported() {
			errs = append(errs, fmt.Errorf("field %s is unexported; export it", f.Name))
			continue
		}
		name := f.Name
		if tag != "" {
			name = tag
		}
		if _, ok := t.spec(name); !ok {
			errs = append(errs, fmt.Errorf("field %s: no column %q (columns: %s)", f.Name, name, t.columnNames()))
			continue
		}
		c, err := t.fixedColumn(name)
		if err != nil {
			errs = append(errs, fmt.Errorf("field %s: %w", f.Name, err))
			continue
		}
		l, err := layout.Of(elem)
		if err == nil && !l.Equal(c.Layout()) {
			err = fmt.Errorf("column %q holds %s, the field asks for %s (%s)", c.Name(), c.Layout(), elem, l)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("field %s: %w", f.Name, err))
			continue
		}
		binds = append(binds, binding{i, newView(f.Type, c)})
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: Bind %s: %w", ErrNoColumn, st, errors.Join(errs...))
	}
	for _, b := range binds {
		sv.Field(b.field).Set(b.view)
	}
	return nil
}

var columnPkg = reflect.TypeFor[column.Of[byte]]().PkgPath()

// isViewStruct reports whether t is a column.Of[T] (not a pointer to one).
func isViewStruct(t reflect.Type) bool {
	return t.Kind() == reflect.Struct && t.PkgPath() == columnPkg && strings.HasPrefix(t.Name(), "Of[")
}

// viewElem reports whether t is a *column.Of[T], and T: the result of its
// Get method, the one place the type argument shows through reflection.
func viewElem(t reflect.Type) (reflect.Type, bool) {
	if t.Kind() != reflect.Pointer || !isViewStruct(t.Elem()) {
		return nil, false
	}
	get, ok := t.MethodByName("Get")
	if !ok || get.Type.NumOut() != 1 {
		return nil, false
	}
	return get.Type.Out(0), true
}

// newView makes a *column.Of[T] of type ptr for c, whose layout the caller
// has checked against T. A type argument known only at run time cannot
// instantiate colset.NewView, so the view is built as what every Of[T] is:
// a *colset.Column field, then the read-only flag, left false (viewShapeOK
// checks that this still holds).
func newView(ptr reflect.Type, c *colset.Column) reflect.Value {
	if !viewShapeOK(ptr.Elem()) {
		panic(fmt.Sprintf("table: %s is no longer a *colset.Column and a bool; update newView", ptr.Elem()))
	}
	v := reflect.New(ptr.Elem())
	*(**colset.Column)(v.UnsafePointer()) = c
	return v
}

// viewShapeOK reports whether column.Of[T] is still a *colset.Column
// followed by the read-only flag, the shape newView writes.
func viewShapeOK(t reflect.Type) bool {
	return t.NumField() == 2 && t.Field(0).Type == reflect.TypeFor[*colset.Column]() && t.Field(0).Offset == 0 &&
		t.Field(1).Type.Kind() == reflect.Bool
}
