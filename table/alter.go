package table

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/mmapvec/persistence"
	"github.com/mmapvec/persistence/internal/names"
)

// Schema changes for tools that do not know a table's row type (persist
// drop, persist rename): the same change a writable Open makes for a
// record type without the column, or with `persist:"new,was=old"`.

// DropColumn drops the named columns of the table in dir, with their data,
// as a writable [Open] with [Options.DropColumns] does for a record type
// that lacks them. It waits for readers (up to opts.LockTimeout) and is
// crash safe in the same way. It returns the history entries it added.
func DropColumn(dir string, columns []string, opts *Options) ([]persistence.SchemaChange, error) {
	return alter(dir, opts, func(m *persistence.Manifest) (schema, error) {
		var s schema
		for _, c := range m.Columns {
			if !slices.Contains(columns, c.Name) {
				s.cols = append(s.cols, c)
				s.was = append(s.was, "")
			}
		}
		for _, name := range columns {
			if !slices.ContainsFunc(m.Columns, func(c persistence.ColumnSpec) bool { return c.Name == name }) {
				return schema{}, fmt.Errorf("%w: %q (the table has %s)", ErrNoColumn, name, columnNames(m))
			}
		}
		if len(s.cols) == 0 {
			return schema{}, fmt.Errorf("%w: dropping %s would leave the table without columns", ErrSchema, strings.Join(columns, ", "))
		}
		return s, nil
	})
}

// RenameColumn renames column from of the table in dir to to, its file
// and its manifest entry, as a writable [Open] does for a record type
// tagged `persist:"to,was=from"`. It waits for readers (up to
// opts.LockTimeout) and is crash safe in the same way. It returns the
// history entries it added.
func RenameColumn(dir, from, to string, opts *Options) ([]persistence.SchemaChange, error) {
	return alter(dir, opts, func(m *persistence.Manifest) (schema, error) {
		if err := names.Validate(to); err != nil {
			return schema{}, fmt.Errorf("%w: %q: %v", ErrType, to, err)
		}
		var s schema
		found := false
		for _, c := range m.Columns {
			was := ""
			switch {
			case c.Name == from:
				found, was = true, from
				c.Name, c.File = to, to+".col"
			case strings.EqualFold(c.Name, to):
				return schema{}, fmt.Errorf("%w: the table has a column %q already", ErrSchema, c.Name)
			}
			s.cols = append(s.cols, c)
			s.was = append(s.was, was)
		}
		if !found {
			return schema{}, fmt.Errorf("%w: %q (the table has %s)", ErrNoColumn, from, columnNames(m))
		}
		return s, nil
	})
}

func columnNames(m *persistence.Manifest) string {
	var out []string
	for _, c := range m.Columns {
		out = append(out, fmt.Sprintf("%q", c.Name))
	}
	return strings.Join(out, ", ")
}

// alter applies the schema that edit derives from the table's manifest, as
// the writer, with a Table[Any] that only holds the lock.
func alter(dir string, opts *Options, edit func(*persistence.Manifest) (schema, error)) (changes []persistence.SchemaChange, err error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.ReadOnly {
		return nil, fmt.Errorf("%w: %s: Options.ReadOnly set, but a schema change writes", ErrOptions, dir)
	}
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotTable, err)
	}
	if _, err := os.Lstat(filepath.Join(dir, persistence.ManifestFile)); err != nil {
		return nil, fmt.Errorf("%w: %s has no %s: %w", ErrNotTable, dir, persistence.ManifestFile, err)
	}
	t := newTable[Any](dir, o)
	defer func() { err = errors.Join(err, t.Close()) }()
	if err := t.lockDir(); err != nil {
		return nil, err
	}
	if err := cleanLeftovers(dir, false); err != nil {
		return nil, fmt.Errorf("table: %s: %w", dir, err)
	}
	m, err := readTableManifest(dir)
	if err != nil {
		return nil, err
	}
	if _, err := resumeSchema(dir, m, o.LockTimeout); err != nil {
		return nil, fmt.Errorf("table: %s: %w", dir, err)
	}
	if m, err = readTableManifest(dir); err != nil {
		return nil, err
	}
	want, err := edit(m)
	if err != nil {
		return nil, fmt.Errorf("table: %s: %w", dir, err)
	}
	o.DropColumns = true
	_, e, err := planSchema(m, want, o, m.RowSize)
	if err != nil || e == nil {
		return nil, err
	}
	if err := t.evolve(m, e); err != nil {
		return nil, err
	}
	return e.entries, nil
}
