// Package ingest imports rows from Parquet and CSV files into a table: a
// new one, whose schema comes from the file, or an existing one, whose
// columns are matched by name. A directory that does not exist, or exists
// and is empty, gets a new table.
//
// # Columns
//
// The file's columns are flat (see the export package: a table exports
// nested values flattened, one column per scalar). Into an existing table,
// each of the table's flat columns ([export.Leaves]) takes the file's
// column of the same name (compared without case); a missing column, a
// column the table lacks, and a type that differs are each a
// [*MismatchError] naming the column and both types, all of them joined
// in one error, before anything is written. Into a new table, a file the
// export package wrote gives back the table columns it came from (their
// names, kinds and layouts are in its metadata, export.ColumnsKey), nested
// values and all, so that a table exported and imported holds the same
// rows in the same columns. Otherwise each file column becomes a table
// column: Parquet's types map back as the export
// package maps them (a dictionary-encoded STRING written by export is a
// table.Symbol again, any other STRING a string; TIMESTAMP, TIME and DATE
// are the integers they are stored as), and CSV's columns are
// int64, uint64, float64, bool or string, whichever all the values of the
// first 10000 records parse as (the export package writes floats with a
// decimal point, so that a float column stays one). A new table's column
// names are the file's, which must be valid column names (letters,
// digits, '_', '-' and '.') and differ in more than case, else
// [ErrSchema]. A null in an optional Parquet column imports as the zero
// value; nested and repeated Parquet columns, and logical types a table
// has no column for (DECIMAL, UUID, FLOAT16, INTERVAL, ...), are refused
// with [ErrSchema].
//
// # Safety
//
// Rows are appended in batches of Options.BatchRows rows (the last may
// be shorter; a Parquet batch takes rows across row groups), each through
// [table.Appender.Append] and then [table.Appender.Sync]: a crash, or a
// kill, leaves the table as before the import or with whole batches
// appended, never a torn row. A bad input (a value that does not fit its
// column, a truncated or damaged file, bad CSV quoting, a record with
// more fields than the header) is an error wrapping [ErrInput] that
// leaves the table as it was: an import into an existing table reads and
// converts the whole input once before it appends anything (the file is
// read twice), and a new table is removed when its import fails (an
// empty directory that was there is left empty). A CSV file's values that
// do not parse as their columns' types are reported column by column:
// the first such value of each.
package ingest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/mmapvec/persistence"
	"github.com/mmapvec/persistence/column"
	"github.com/mmapvec/persistence/interop/export"
	"github.com/mmapvec/persistence/table"
)

var (
	// ErrSchema: the file's columns do not fit the table's; each mismatch
	// is a [*MismatchError].
	ErrSchema = errors.New("ingest: the file's columns do not fit the table")
	// ErrInput: the file is damaged, or holds a value its column cannot.
	ErrInput = errors.New("ingest: bad input")
)

// MismatchError is one column that does not fit: Want is the table's
// type (empty if the table lacks the column), Got the file's (empty if
// the file lacks it).
type MismatchError struct {
	Column    string
	Want, Got string
}

func (e *MismatchError) Error() string {
	switch {
	case e.Want == "":
		return fmt.Sprintf("ingest: column %q (%s) of the file is not in the table", e.Column, e.Got)
	case e.Got == "":
		return fmt.Sprintf("ingest: column %q (%s) of the table is not in the file", e.Column, e.Want)
	}
	return fmt.Sprintf("ingest: column %q is %s in the table and %s in the file", e.Column, e.Want, e.Got)
}

func (e *MismatchError) Unwrap() error { return ErrSchema }

// Options tune an import; nil means the defaults.
type Options struct {
	// Table are the options the table is opened (or created) with: its
	// limits on values and symbols.
	Table *table.Options
	// BatchRows is the rows appended and synced at a time: 0 means as
	// many as hold about 16 MiB of elements (at least 4096).
	BatchRows int
	// Progress, if set, is called with the rows imported so far (and the
	// total, when known; -1 if not) after each batch.
	Progress func(done, total int)
}

// batchBytes is the elements of a batch by default: enough that a Sync
// per batch costs little beside the rows, small enough to hold twice
// (one batch filled while the one before is appended and synced).
const batchBytes = 16 << 20

func (o *Options) batch(cols []fileCol) int {
	if o.BatchRows > 0 {
		return o.BatchRows
	}
	width := 0
	for _, c := range cols {
		width += max(c.size, 16) // a value's element; a guess at its bytes
	}
	return max(4096, batchBytes/max(width, 1))
}

// fileCol is one column of the input.
type fileCol struct {
	name string
	kind string // a leaf kind of export.Leaf
	size int    // bytes of a scalar, N of a fixed
	// text: the column's values are text to parse as the table's column
	// says (CSV); kind is what a new table makes of them.
	text bool
}

func (c fileCol) typeName() string {
	if c.kind == "fixed" {
		return fmt.Sprintf("[%d]byte", c.size)
	}
	return c.kind
}

// goType is the Go type of a new table's column for c.
func (c fileCol) goType() reflect.Type {
	switch c.kind {
	case "bool":
		return reflect.TypeFor[bool]()
	case "int8":
		return reflect.TypeFor[int8]()
	case "int16":
		return reflect.TypeFor[int16]()
	case "int32":
		return reflect.TypeFor[int32]()
	case "int64":
		return reflect.TypeFor[int64]()
	case "uint8":
		return reflect.TypeFor[uint8]()
	case "uint16":
		return reflect.TypeFor[uint16]()
	case "uint32":
		return reflect.TypeFor[uint32]()
	case "uint64":
		return reflect.TypeFor[uint64]()
	case "float32":
		return reflect.TypeFor[float32]()
	case "float64":
		return reflect.TypeFor[float64]()
	case "fixed":
		return reflect.ArrayOf(c.size, reflect.TypeFor[byte]())
	case "symbol":
		return reflect.TypeFor[table.Symbol]()
	case "bytes":
		return reflect.TypeFor[[]byte]()
	}
	return reflect.TypeFor[string]()
}

// create makes a new table in dir with a column per file column.
func create(dir string, cols []fileCol, o *Options) error {
	fields := make([]reflect.StructField, len(cols))
	for i, c := range cols {
		fields[i] = reflect.StructField{Name: fmt.Sprintf("F%d", i), Type: c.goType(), Tag: reflect.StructTag(fmt.Sprintf(`persist:%q`, c.name))}
	}
	err := table.Create(dir, reflect.StructOf(fields), o.Table)
	if errors.Is(err, table.ErrType) {
		// A column name no table takes, or two names alike but for case.
		return fmt.Errorf("%w: %w", ErrSchema, err)
	}
	return err
}

// plan maps the table's leaves to the file's columns: src[k] is the file
// column of leaf k.
type plan struct {
	cols   []persistence.ColumnSpec
	leaves []export.Leaf
	src    []int
	col    []int // the index in cols of each leaf's column
	size   []int // and its element size
}

func match(cols []persistence.ColumnSpec, file []fileCol) (*plan, error) {
	leaves, err := export.Leaves(cols)
	if err != nil {
		return nil, err
	}
	p := &plan{cols: cols, leaves: leaves, src: make([]int, len(leaves)), col: make([]int, len(leaves)), size: make([]int, len(leaves))}
	for k, l := range leaves {
		for i, c := range cols {
			if c.Name == l.Column {
				p.col[k], p.size[k] = i, c.Layout.Size
			}
		}
	}
	byName := map[string]int{}
	for i, c := range file {
		byName[strings.ToLower(c.name)] = i
	}
	used := make([]bool, len(file))
	var errs []error
	for k, l := range leaves {
		want := fileCol{name: l.Name, kind: l.Kind, size: l.Size}
		i, ok := byName[strings.ToLower(l.Name)]
		if !ok {
			errs = append(errs, &MismatchError{Column: l.Name, Want: want.typeName()})
			continue
		}
		used[i] = true
		p.src[k] = i
		got := file[i]
		same := got.kind == l.Kind && (l.Kind != "fixed" || got.size == l.Size)
		// A string column of the file fits a symbol, string or bytes
		// column, and the reverse: all are bytes.
		text := func(k string) bool { return k == "string" || k == "symbol" || k == "bytes" }
		if !same && !got.text && !(text(got.kind) && text(l.Kind)) {
			errs = append(errs, &MismatchError{Column: l.Name, Want: want.typeName(), Got: got.typeName()})
		}
	}
	for i, c := range file {
		if !used[i] {
			errs = append(errs, &MismatchError{Column: c.name, Got: c.typeName()})
		}
	}
	return p, errors.Join(errs...)
}

// batch is rows column by column for an Appender, filled leaf by leaf.
type batch struct {
	p    *plan
	n    int
	data []table.ColumnData
}

func newBatch(p *plan, rows int) *batch {
	b := &batch{p: p, data: make([]table.ColumnData, len(p.cols))}
	for i, c := range p.cols {
		if c.Variable() {
			b.data[i].Values = make([]string, 0, rows)
		} else {
			b.data[i].Elems = make([]byte, 0, rows*c.Layout.Size)
		}
	}
	return b
}

// reset makes room for n rows, zeroed.
func (b *batch) reset(n int) {
	b.n = n
	for i, c := range b.p.cols {
		if c.Variable() {
			b.data[i].Values = b.data[i].Values[:n]
		} else {
			b.data[i].Elems = b.data[i].Elems[:n*c.Layout.Size]
			clear(b.data[i].Elems)
		}
	}
}

// at returns the bytes of leaf k in row i.
func (b *batch) at(k, i int) []byte {
	l := &b.p.leaves[k]
	at := i*b.p.size[k] + l.Off
	return b.data[b.p.col[k]].Elems[at : at+l.Size]
}

// setValue sets the value of string, bytes or symbol leaf k in row i.
func (b *batch) setValue(k, i int, v string) {
	b.data[b.p.col[k]].Values[i] = v
}

// sink takes the batches of an import: an Appender, or nothing (the pass
// that only checks the input). A batch is appended and synced by a
// goroutine while the reader fills the next one: put returns once the
// batch before has been synced, so a reader alternates two batches.
type sink struct {
	a     *table.Appender
	limit int // the largest value, checked when a is nil
	// The dictionaries of the symbol columns (nil for the others), the
	// distinct values the input adds to each, and how many a column may
	// hold: checked when a is nil, since a dictionary past its limit would
	// fail the import part way.
	dicts    []*column.Symbols
	added    []map[string]struct{}
	maxSyms  int
	done     int
	total    int
	progress func(done, total int)
	pending  chan error // the batch being appended, if any
}

// wait waits for the batch being appended, and returns its error.
func (s *sink) wait() error {
	if s.pending == nil {
		return nil
	}
	err := <-s.pending
	s.pending = nil
	return err
}

func (s *sink) put(b *batch) error {
	if s.a != nil {
		if err := s.wait(); err != nil {
			return err
		}
		done := make(chan error, 1)
		s.pending = done
		go func() { done <- s.appendSync(b) }()
		return nil
	}
	for i, c := range b.p.cols {
		for j, v := range b.data[i].Values {
			if len(v) > s.limit {
				return fmt.Errorf("%w: column %q, row %d of the batch: a value of %d bytes, the limit is %d (Options.MaxValueSize): %w",
					ErrInput, c.Name, j, len(v), s.limit, table.ErrValueTooLarge)
			}
			if d := s.dicts[i]; d != nil && v != "" {
				if _, ok := d.Lookup(v); ok {
					continue
				}
				s.added[i][v] = struct{}{}
				if n := d.Symbols() + len(s.added[i]); n > s.maxSyms {
					return fmt.Errorf("%w: column %q: the input adds %d distinct symbols to the %d the table holds, past its limit of %d (Options.MaxSymbols): %w",
						ErrInput, c.Name, len(s.added[i]), d.Symbols(), s.maxSyms, table.ErrSymbolLimit)
				}
			}
		}
	}
	return nil
}

func (s *sink) appendSync(b *batch) error {
	if err := s.a.Append(b.n, b.data); err != nil {
		return err
	}
	if err := s.a.Sync(); err != nil {
		return err
	}
	s.done += b.n
	if s.progress != nil {
		s.progress(s.done, s.total)
	}
	return nil
}

// checkingSink returns the sink of the pass that checks the input against
// the table a appends to.
func checkingSink(a *table.Appender, p *plan, limit int, o *Options) (*sink, error) {
	s := &sink{limit: limit, dicts: make([]*column.Symbols, len(p.cols)), added: make([]map[string]struct{}, len(p.cols)),
		maxSyms: table.DefaultMaxSymbols}
	if o.Table != nil && o.Table.MaxSymbols > 0 {
		s.maxSyms = o.Table.MaxSymbols
	}
	for i, c := range p.cols {
		if c.Kind != persistence.KindSymbol {
			continue
		}
		d, err := table.Symbols(a.Table(), c.Name)
		if err != nil {
			return nil, err
		}
		s.dicts[i], s.added[i] = d, map[string]struct{}{}
	}
	return s, nil
}

// run imports into dir: create the table if it does not exist, match the
// columns, check the whole input with pass(nil) into an existing table,
// then append with pass(appender). pass reads the input from its start
// each time it is called.
func run(dir string, file []fileCol, nested []persistence.ColumnSpec, o *Options, total int, pass func(p *plan, s *sink) error) (int, error) {
	fresh, keep, err := isNew(dir)
	if err != nil {
		return 0, err
	}
	// remove undoes a new table: its directory goes, and comes back empty
	// if it was there, empty, before the import.
	remove := func() error {
		err := os.RemoveAll(dir)
		if keep != nil && err == nil {
			err = os.Mkdir(dir, keep.Mode().Perm())
		}
		return err
	}
	if keep != nil {
		// table.Create builds a table beside dir and renames it into
		// place, which an existing directory, even empty, refuses.
		if err := os.Remove(dir); err != nil {
			return 0, err
		}
	}
	if fresh {
		made := false
		if nested != nil {
			if made, err = createNested(dir, nested, o); err != nil {
				return 0, errors.Join(err, remove())
			}
			if !made {
				if err := remove(); err != nil {
					return 0, err
				}
			}
		}
		if !made {
			if err := create(dir, file, o); err != nil {
				return 0, errors.Join(err, remove())
			}
		}
	}
	fail := func(err error) (int, error) {
		if fresh {
			err = errors.Join(err, remove())
		}
		return 0, err
	}
	a, err := table.OpenAppender(dir, o.Table)
	if err != nil {
		return fail(err)
	}
	p, err := match(a.Columns(), file)
	if err != nil {
		return fail(errors.Join(err, a.Close()))
	}
	if !fresh {
		limit := table.DefaultMaxValueSize
		if o.Table != nil && o.Table.MaxValueSize > 0 {
			limit = o.Table.MaxValueSize
		}
		check, err := checkingSink(a, p, limit, o)
		if err != nil {
			return fail(errors.Join(err, a.Close()))
		}
		if err := pass(p, check); err != nil {
			return fail(errors.Join(err, a.Close()))
		}
	}
	s := &sink{a: a, total: total, progress: o.Progress}
	if err := errors.Join(pass(p, s), s.wait()); err != nil {
		// A new table goes; an existing one keeps the batches synced
		// before the error, which the check above makes a failure of the
		// system (a full disk, a file changed under us), not of the input.
		return fail(errors.Join(err, a.Close()))
	}
	return s.done, a.Close()
}

// isNew says whether an import into dir makes a new table: dir does not
// exist, or is an empty directory (keep: to be made again, empty, should
// the import fail).
func isNew(dir string) (fresh bool, keep os.FileInfo, err error) {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return true, nil, nil
	case err != nil:
		return false, nil, err
	case !fi.IsDir():
		return false, nil, fmt.Errorf("ingest: %s is not a directory", dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false, nil, err
	}
	if len(entries) == 0 {
		return true, fi, nil
	}
	// Opening would leave a lock file in a directory of other files.
	if _, err := os.Stat(filepath.Join(dir, persistence.ManifestFile)); err != nil {
		return false, nil, fmt.Errorf("ingest: %s: %w: it holds other files and no table", dir, table.ErrNotTable)
	}
	return false, nil, nil
}
