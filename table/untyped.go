package table

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"reflect"
	"runtime/debug"

	"github.com/mmapvec/persistence"
)

// Tools that import data whose schema they learn at run time (a Parquet or
// CSV file) have no Go row type to open a table with. Create makes such a
// table from a struct type built with reflect.StructOf, so that its
// manifest is exactly the one Open[R] would make for an R of that shape;
// an Appender then appends rows given column by column, through the
// publish path of AppendRows: every column holds the rows before the count
// that makes them visible moves, so a crash keeps whole batches only.

// Create makes a new, empty table in dir for rows of the struct type row,
// as Open[R] does for an R of that type: row may be built at run time with
// reflect.StructOf (name the columns with `persist:"name"` tags). dir must
// not exist or be an empty directory, which is replaced; its missing
// parents are created.
// The table appears complete or not at all. A row type the format cannot
// hold is refused before anything is written: a row past
// [persistence.MaxRowSize], or so many columns and leaves that the
// manifest would pass [persistence.MaxManifestSize], is [ErrTooLarge].
func Create(dir string, row reflect.Type, opts *Options) error {
	var o Options
	if opts != nil {
		o = *opts
	}
	if dir == "" {
		return fmt.Errorf("%w: the directory name is empty", ErrNotTable)
	}
	if row == nil || row == reflect.TypeFor[Any]() {
		return fmt.Errorf("%w: Create needs a struct row type with fields", ErrType)
	}
	if err := o.validate(); err != nil {
		return err
	}
	s, err := schemaOf(row, true)
	if err != nil {
		return err
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("table: create %s: %w: the directory is not empty", dir, fs.ErrExist)
	} else if err == nil {
		// An empty directory (a temporary one, say) is replaced: the table
		// is renamed into place whole, which an existing name would stop.
		// Remove fails if a file appeared meanwhile.
		if err := os.Remove(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("table: create %s: %w", dir, err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("table: create %s: %w", dir, err)
	}
	if err := mkdirParents(dir); err != nil {
		return fmt.Errorf("table: create %s: %w", dir, err)
	}
	m := newManifest(s.cols, int(row.Size()), o)
	if _, err := createNew(dir, m, o); err != nil {
		return fmt.Errorf("table: create %s: %w", dir, err)
	}
	// createNew lets another creator win a race; the caller must get the
	// table it described.
	got, err := readTableManifest(dir)
	if err != nil {
		return err
	}
	if got.Hash() != m.Hash() {
		return fmt.Errorf("table: create %s: %w: another process created it first", dir, fs.ErrExist)
	}
	return nil
}

// ColumnData is one column's part of a batch for [Appender.Append]: for a
// fixed-size column, Elems holds each row's element back to back, in this
// machine's byte order and laid out as the column's [persistence.Layout]
// says; for a string, []byte or Symbol column, Values holds each row's
// value.
type ColumnData struct {
	Elems  []byte
	Values []string
}

// Appender appends rows to a table without its Go row type: a writer whose
// rows come column by column from a file of another format. It holds the
// table's writer lock until Close. Its methods must not be called
// concurrently.
type Appender struct {
	t *Table[Any]
}

// OpenAppender opens the existing table in dir for appending, as a writer
// (Options.ReadOnly is ignored): it recovers the table as Open does.
func OpenAppender(dir string, opts *Options) (*Appender, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	o.ReadOnly = false
	t, err := Open[Any](dir, &o)
	if err != nil {
		return nil, err
	}
	if err := t.touchManifest(); err != nil {
		return nil, errors.Join(err, t.Close())
	}
	return &Appender{t: t}, nil
}

// Columns returns the table's columns, in the order Append takes them.
func (a *Appender) Columns() []persistence.ColumnSpec {
	return append([]persistence.ColumnSpec(nil), a.t.man.Columns...)
}

// Table returns the table, opened as [Any]: for reads, and what [Any]
// allows (Check, Compact). Its rows change only through the Appender.
func (a *Appender) Table() *Table[Any] { return a.t }

// Len returns the number of rows.
func (a *Appender) Len() int { return a.t.rows }

// Append adds n rows given column by column, cols[i] for [Appender.Columns]()[i].
// Nothing is published until every column holds the rows, so on an error
// (a column of the wrong length, a bool byte other than 0 or 1, a value
// over [Options.MaxValueSize], a symbol past [Options.MaxSymbols]) the
// table's rows are as they were, and a crash keeps this batch whole or
// not at all. After it returns, the rows survive a crash of the process;
// after the next [Appender.Sync], a crash of the OS.
func (a *Appender) Append(n int, cols []ColumnData) (err error) {
	t := a.t
	defer t.guarded(debug.SetPanicOnFault(true), &err)
	switch {
	case t.closed:
		return ErrClosed
	case t.poison != nil:
		return t.poison
	}
	if err := a.validate(n, cols); err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	at := t.rows
	if at+n > t.set.MinCap() {
		if err := t.set.Grow(at + n); err != nil {
			return fmt.Errorf("table: %s: %w", t.dir, err)
		}
	}
	for i := range t.vars { // every column's new symbols fit before any is added
		if v := &t.vars[i]; v.dict != nil {
			vals := cols[v.k].Values
			if err := t.lookupCodes(v, at, n, func(j int) string { return vals[j] }); err != nil {
				return err
			}
		}
	}
	for i := range t.vars {
		v := &t.vars[i]
		if err := t.storeValues(v, at, cols[v.k].Values); err != nil {
			return err
		}
	}
	for k, c := range t.set.Columns() {
		if t.man.Columns[k].Variable() {
			continue
		}
		if err := c.File().WriteAt(cols[k].Elems, at); err != nil {
			return fmt.Errorf("table: %s: column %q: %w", t.dir, c.Name(), err)
		}
	}
	t.publish(at+n, "table.appendrows.column")
	return nil
}

// validate checks a batch before anything of it is written.
func (a *Appender) validate(n int, cols []ColumnData) error {
	t := a.t
	if n < 0 {
		return fmt.Errorf("%w: Append of %d rows", ErrRange, n)
	}
	if len(cols) != len(t.man.Columns) {
		return fmt.Errorf("%w: Append with %d columns, the table has %d", ErrType, len(cols), len(t.man.Columns))
	}
	limit := t.maxValueSize()
	for k, c := range t.man.Columns {
		d := cols[k]
		if c.Variable() {
			if len(d.Values) != n || d.Elems != nil {
				return fmt.Errorf("%w: column %q (%s): %d values and %d element bytes for %d rows", ErrType, c.Name, c.Kind, len(d.Values), len(d.Elems), n)
			}
			for _, s := range d.Values {
				if len(s) > limit {
					return fmt.Errorf("%w: column %q: a value of %d bytes, the limit is %d (Options.MaxValueSize)", ErrValueTooLarge, c.Name, len(s), limit)
				}
			}
			continue
		}
		// n is compared by division first: n*Size may wrap past 2^63.
		if n > len(d.Elems)/c.Layout.Size || len(d.Elems) != n*c.Layout.Size || d.Values != nil {
			return fmt.Errorf("%w: column %q: %d element bytes and %d values for %d rows of %d bytes", ErrType, c.Name, len(d.Elems), len(d.Values), n, c.Layout.Size)
		}
		if err := checkBools(c, d.Elems, n); err != nil {
			return err
		}
	}
	return nil
}

// checkBools refuses a bool leaf whose byte is neither 0 nor 1: no Go
// value holds one, and a row read back must be a valid Go value.
func checkBools(c persistence.ColumnSpec, elems []byte, n int) error {
	for _, l := range c.Layout.Leaves {
		if l.Kind != "bool" {
			continue
		}
		offs := []int{l.Offset}
		for _, d := range l.Dims {
			var next []int
			for _, o := range offs {
				for j := range d.Count {
					next = append(next, o+j*d.Stride)
				}
			}
			offs = next
		}
		for i := range n {
			row := elems[i*c.Layout.Size:]
			for _, o := range offs {
				if row[o] > 1 {
					return fmt.Errorf("%w: column %q: row %d: bool byte %d is neither 0 nor 1", ErrType, c.Name, i, row[o])
				}
			}
		}
	}
	return nil
}

// storeValues is storeRowsVars for one column's values vals, about to land
// at rows [n, n+len(vals)), once lookupCodes wrote a symbol column's codes.
func (t *core) storeValues(v *varCol, n int, vals []string) error {
	field := func(j int) string { return vals[j] }
	if v.dict != nil {
		return t.addCodes(v, n, len(vals), field)
	}
	total := 0
	for _, s := range vals {
		total += len(s)
	}
	at := v.heap.Len()
	if err := v.heap.Reserve(total); err != nil {
		return fmt.Errorf("table: %s: column %q: %w", t.dir, v.spec.Name, err)
	}
	var err error
	if total >= stageBytes {
		at, err = t.writeStaged(v, n, at, len(vals), field)
	} else {
		at = t.putMapped(v, n, at, len(vals), field)
	}
	if err != nil {
		return fmt.Errorf("table: %s: column %q: %w", t.dir, v.spec.Name, err)
	}
	v.heap.Publish(at)
	return nil
}

// Sync makes the rows appended so far durable against an OS crash, as
// [Table.Sync] does.
func (a *Appender) Sync() (err error) {
	t := a.t
	defer t.guarded(debug.SetPanicOnFault(true), &err)
	switch {
	case t.closed:
		return ErrClosed
	case t.poison != nil:
		return t.poison
	}
	return t.sync()
}

// Close closes the table without a Sync, as [Table.Close] does. It is
// idempotent.
func (a *Appender) Close() error { return a.t.Close() }
