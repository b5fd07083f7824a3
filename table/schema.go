package table

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/mmapvec/persistence"
	"github.com/mmapvec/persistence/internal/layout"
	"github.com/mmapvec/persistence/internal/names"
)

// schema is the columns of a record type, with each column's Go type (the
// manifest records layouts; Col matches selectors against types).
type schema struct {
	cols  []persistence.ColumnSpec
	types []reflect.Type
	was   []string // each column's name before a rename (`persist:"name,was=old"`), or ""
	// flattened: an embedded struct was split into its fields' columns,
	// so the schema of the library before flattening differs.
	flattened bool
}

// schemaOf derives the columns of a record type: each exported field is a
// column named by the field or by its `persist:"name"` tag; `persist:"-"`
// skips a field. With flatten, an embedded struct field is replaced by its
// own fields' columns, as encoding/json promotes them, unless its tag
// names it or says `persist:",whole"`; without, it is one column, as the
// library stored it before flattening existed (see legacySchema).
func schemaOf(t reflect.Type, flatten bool) (schema, error) {
	if t.Kind() != reflect.Struct {
		return schema{}, fmt.Errorf("%w: %s is a %s; a table row must be a struct", ErrType, t, t.Kind())
	}
	s := schema{}
	seen := map[string]string{} // lower-case column name -> Go field path
	if err := s.add(t, t, 0, "", flatten, seen); err != nil {
		return schema{}, err
	}
	if len(s.cols) == 0 {
		return schema{}, fmt.Errorf("%w: %s has no exported fields to store", ErrType, t)
	}
	return s, nil
}

// add appends the columns of struct st, which lies at offset base of the
// row type rt, its fields' Go paths starting with prefix.
func (s *schema) add(rt, st reflect.Type, base uintptr, prefix string, flatten bool, seen map[string]string) error {
	for i := range st.NumField() {
		f := st.Field(i)
		path := prefix + f.Name
		tag, hasTag := f.Tag.Lookup("persist")
		if tag == "-" {
			continue
		}
		name, whole, was, err := parseTag(tag)
		if err != nil {
			return fmt.Errorf("%w: %s field %s: %v", ErrType, rt, path, err)
		}
		if flatten && f.Anonymous && f.Type.Kind() == reflect.Struct && name == "" && !whole && was == "" && promotes(f.Type) {
			// Promoted fields, as encoding/json has them: an unexported
			// embedded struct type's exported fields are promoted too.
			s.flattened = true
			if err := s.add(rt, f.Type, base+f.Offset, path+".", flatten, seen); err != nil {
				return err
			}
			continue
		}
		if !f.IsExported() && !hasTag {
			continue
		}
		if !f.IsExported() {
			return fmt.Errorf("%w: %s field %s is unexported but has a persist tag; export it", ErrType, rt, path)
		}
		if name == "" {
			name = f.Name
		}
		if err := names.Validate(name); err != nil {
			return fmt.Errorf("%w: %s field %s: %v", ErrType, rt, path, err)
		}
		if was != "" {
			if err := names.Validate(was); err != nil {
				return fmt.Errorf("%w: %s field %s: was=%q: %v", ErrType, rt, path, was, err)
			}
			if strings.EqualFold(was, name) {
				return fmt.Errorf("%w: %s field %s: was=%q names the column itself", ErrType, rt, path, was)
			}
		}
		kind := varKind(f.Type)
		l, ok := persistence.KindLayout(kind)
		if !ok {
			l, err = layout.Of(f.Type)
		}
		if err != nil {
			return fmt.Errorf("%w: %s field %s: %w", ErrType, rt, path, err)
		}
		if l.Size == 0 {
			return fmt.Errorf("%w: %s field %s has size 0; skip it with `persist:\"-\"`", ErrType, rt, path)
		}
		if other, dup := seen[strings.ToLower(name)]; dup {
			// encoding/json would keep the shallower field and silently
			// drop the other; a table refuses, since a field it did not
			// store would lose its values without a word.
			return fmt.Errorf("%w: %s fields %s and %s both map to column %q (names are case-insensitive); "+
				"rename one with a persist tag, skip one with `persist:\"-\"`, or keep an embedded struct as one column with `persist:\",whole\"`",
				ErrType, rt, other, path, name)
		}
		seen[strings.ToLower(name)] = path
		s.cols = append(s.cols, persistence.ColumnSpec{Field: path, Name: name, File: name + ".col", Offset: int(base + f.Offset), Layout: l, Kind: kind})
		s.types = append(s.types, f.Type)
		s.was = append(s.was, was)
	}
	return nil
}

// varKind returns the kind of column that stores a field of type t when
// its values vary in length: a [Symbol], a string, a []byte; "" for any
// other type, which must then be fixed-size.
func varKind(t reflect.Type) string {
	switch {
	case t == symbolType:
		return persistence.KindSymbol
	case t.Kind() == reflect.String:
		return persistence.KindString
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8:
		return persistence.KindBytes
	}
	return ""
}

var symbolType = reflect.TypeFor[Symbol]()

// promotes reports whether flattening struct t yields any field: one with
// no exported field (time.Time, a marker struct{}) stays one column, to be
// stored whole or refused with the advice its type draws, never dropped.
func promotes(t reflect.Type) bool {
	for i := range t.NumField() {
		f := t.Field(i)
		if f.IsExported() || (f.Anonymous && f.Type.Kind() == reflect.Struct && promotes(f.Type)) {
			return true
		}
	}
	return false
}

// parseTag splits a persist tag into the column name (may be empty) and
// its options: "whole", and "was=old", the column's name before a rename.
func parseTag(tag string) (name string, whole bool, was string, err error) {
	name, opts, _ := strings.Cut(tag, ",")
	for opt := range strings.SplitSeq(opts, ",") {
		switch old, isWas := strings.CutPrefix(opt, "was="); {
		case opt == "":
		case opt == "whole":
			whole = true
		case isWas && old != "" && was == "":
			was = old
		default:
			return "", false, "", fmt.Errorf("unknown or repeated persist tag option %q (the options are \"whole\" and \"was=old-name\")", opt)
		}
	}
	if whole && was != "" {
		// A whole embedded struct is named by its field: its tag has no name
		// for the rename to give.
		if name == "" {
			return "", false, "", fmt.Errorf("persist tag %q: was= needs the new name before it", tag)
		}
	}
	return name, whole, was, nil
}

// schemaFor picks the schema to open an existing table with, and the
// change that makes the table fit it (nil if none): the type's flattened
// schema, or, for a table created before embedded structs were flattened
// (its manifest records each embedded struct as one column) and that fits
// the schema of that time, that one, so that such a table keeps opening
// with the same R. A new table always gets the flattened one.
func schemaFor(m *persistence.Manifest, flat schema, rt reflect.Type, o Options, rowSize int) (schema, *evolution, error) {
	s, e, err := planSchema(m, flat, o, rowSize)
	if (err == nil && e == nil) || !flat.flattened {
		return s, e, err
	}
	if legacy, lerr := schemaOf(rt, false); lerr == nil {
		if ls, le, lerr := planSchema(m, legacy, o, rowSize); lerr == nil && le == nil {
			return ls, nil, nil
		}
	}
	return s, e, err
}
