package table

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"unsafe"

	"github.com/mmapvec/persistence"
	"github.com/mmapvec/persistence/internal/colfile"
	"github.com/mmapvec/persistence/internal/colset"
	"github.com/mmapvec/persistence/internal/errs"
	"github.com/mmapvec/persistence/internal/layout"
	"github.com/mmapvec/persistence/internal/varcol"
)

// Variable-length columns (string, []byte, Symbol fields): each row's
// element in the column file (a span, or a code) is moved, journaled and
// recovered like any fixed-size element; this file owns what the elements
// point into (a heap, a dictionary), and the checks that they point at
// nothing else. FORMAT.md, "String, bytes and symbol columns", has the
// files and the order of writes.

// Defaults of the limits in [Options].
const (
	DefaultMaxValueSize = 16 << 20
	DefaultMaxSymbols   = 1 << 24
)

// varCol is one variable-length column of the table.
type varCol struct {
	spec persistence.ColumnSpec
	col  *colset.Column // its element column in the set
	k    int            // its index in the set and the codec
	xi   int            // its place among the manifest's variable-length columns (its extent in COMMIT)
	off  uintptr        // the field's offset in R
	heap *varcol.Heap   // string and bytes columns
	dict *varcol.Dict   // symbol columns
}

// files returns the column's files beside its element column.
func (v *varCol) files() []*colfile.File {
	if v.dict != nil {
		o, b := v.dict.Files()
		return []*colfile.File{o, b}
	}
	return []*colfile.File{v.heap.File()}
}

// extent is what COMMIT records of the column: its heap's frontier, or its
// dictionary's entry count.
func (v *varCol) extent() int {
	if v.dict != nil {
		return v.dict.Len()
	}
	return v.heap.Len()
}

// extentOf returns the extent of the table's variable-length column name
// (0 if it has none of that name).
func (t *core) extentOf(name string) uint64 {
	if v := t.varByName(name); v != nil {
		return uint64(v.extent())
	}
	return 0
}

// auxLayouts returns the element layouts of the AuxFiles of a column of kind.
func auxLayouts(kind string) []layout.Layout {
	switch kind {
	case persistence.KindString, persistence.KindBytes:
		return []layout.Layout{varcol.ByteLayout}
	case persistence.KindSymbol:
		return []layout.Layout{varcol.OffsetLayout, varcol.ByteLayout}
	}
	return nil
}

// createAux makes the empty aux files of column c in dir, for a new table
// or an added column. Each replaces any file under its name (left by an
// interrupted build); the caller fsyncs the directory.
func createAux(dir string, c persistence.ColumnSpec, dataVersion uint32) error {
	ls := auxLayouts(c.Kind)
	for j, name := range c.AuxFiles() {
		r, err := colfile.Open(filepath.Join(dir, name), ls[j],
			&colfile.Options{Tag: columnTag, DataVersion: dataVersion, Create: true, NoDirSync: true})
		if err != nil {
			return fmt.Errorf("column %q: %w", c.Name, err)
		}
		if err := r.Close(); err != nil {
			return err
		}
	}
	return nil
}

// openVars opens the aux files of the variable-length columns among cols,
// whose element columns are the set's, in the same order. The manifest's
// order of them gives each its extent in COMMIT.
func (t *core) openVars(cols []persistence.ColumnSpec) error {
	xi := map[string]int{}
	for _, c := range t.man.Columns {
		if c.Variable() {
			xi[c.Name] = len(xi)
		}
	}
	o := &colfile.Options{Tag: columnTag, DataVersion: t.opts.DataVersion, ReadOnly: t.opts.ReadOnly}
	for k, c := range cols {
		if !c.Variable() {
			continue
		}
		ls := auxLayouts(c.Kind)
		var files []*colfile.File
		for j, name := range c.AuxFiles() {
			f, err := colfile.Open(filepath.Join(t.dir, name), ls[j], o)
			if errors.Is(err, fs.ErrNotExist) {
				err = &errs.FileError{Path: filepath.Join(t.dir, name), Err: errs.ErrCorrupt, Detail: "the file of a " + c.Kind + " column is missing"}
			}
			if err != nil {
				for _, f := range files {
					f.Close()
				}
				return fmt.Errorf("table: %s: column %q: %w", t.dir, c.Name, err)
			}
			files = append(files, f)
		}
		v := varCol{spec: c, col: t.set.Columns()[k], k: k, xi: xi[c.Name], off: uintptr(c.Offset)}
		if c.Kind == persistence.KindSymbol {
			v.dict = varcol.NewDict(files[0], files[1])
		} else {
			v.heap = varcol.NewHeap(files[0])
		}
		t.vars = append(t.vars, v)
	}
	// Sync writes the extents in the manifest's order.
	slices.SortFunc(t.vars, func(a, b varCol) int { return a.xi - b.xi })
	for i := range t.vars {
		t.set.AlsoFlush(t.vars[i].files()...)
	}
	return nil
}

// closeVars closes the aux files.
func (t *core) closeVars() error {
	var errs []error
	for i := range t.vars {
		for _, f := range t.vars[i].files() {
			errs = append(errs, f.Close())
		}
	}
	return errors.Join(errs...)
}

// varsLive reports whether every aux file's last writer ran in this boot,
// as liveRows asks of the element columns.
func (t *core) varsLive() bool {
	for i := range t.vars {
		for _, f := range t.vars[i].files() {
			if !f.Facts().SameBoot {
				return false
			}
		}
	}
	return true
}

// varPlan is what recovery decided for one variable-length column: its
// extent, the end of its dictionary's bytes, and the first row whose
// element does not fit (-1 if none).
type varPlan struct {
	extent, dictEnd, bad int
}

// checkVars decides each variable-length column's extent once the row
// count is decided, and checks every row's element against it, writing
// nothing. Live, the extents are what the files published in this boot,
// and every element must lie within them (a writer publishes the bytes,
// and the extent, before the row). After a restart they are the last
// commit's, and a row changed in place since that Sync may point past them
// (its new bytes may not have reached the disk): settleVars resets such a
// row's value to empty and counts it in [Recovery.ValuesReset]; a reader
// reports ErrNeedsRecovery.
func (t *core) checkVars(live bool, extents []uint64, rows int) ([]varPlan, error) {
	plans := make([]varPlan, len(t.vars))
	for i := range t.vars {
		v := &t.vars[i]
		main := v.files()[0]
		var x int
		if live {
			fx := main.Facts()
			if !fx.LiveOK {
				return nil, fmt.Errorf("%w: %s: the live length word fails its check bits", ErrCorrupt, main.Path())
			}
			x = fx.Live
		} else {
			if v.xi >= len(extents) || extents[v.xi] > uint64(main.Cap()) {
				return nil, fmt.Errorf("%w: %s: the committed extent lies past the file, which holds %d", ErrCorrupt, main.Path(), main.Cap())
			}
			x = int(extents[v.xi])
		}
		if err := varcol.CheckLen(main, x, "extent"); err != nil {
			return nil, fmt.Errorf("table: %s: %w", t.dir, err)
		}
		p := varPlan{extent: x, bad: -1}
		if v.dict != nil {
			end, err := v.dict.Validate(x)
			if err != nil {
				return nil, fmt.Errorf("table: %s: %w", t.dir, err)
			}
			p.dictEnd = end
			p.bad = varcol.CheckCodes(varcol.Codes(v.col.File(), rows), 0, x)
		} else {
			p.bad = varcol.CheckSpans(varcol.Spans(v.col.File(), rows), 0, uint64(x))
		}
		switch {
		case p.bad < 0:
		case live:
			return nil, fmt.Errorf("table: %s: %w", t.dir, v.elemError(p.bad, x))
		case t.opts.ReadOnly:
			return nil, fmt.Errorf("%w: %s: column %q: row %d changed in place after the last Sync before a restart; open writable once to reset it",
				ErrNeedsRecovery, t.dir, v.spec.Name, p.bad)
		}
		plans[i] = p
	}
	return plans, nil
}

// settleVars applies what checkVars decided: each file's length (and, on
// a writer, this boot as its writer's), and the reset of every element
// that does not fit.
func (t *core) settleVars(plans []varPlan, rows int) error {
	ro := t.opts.ReadOnly
	for i, p := range plans {
		v := &t.vars[i]
		var err error
		if v.dict != nil {
			offs, bytes := v.dict.Files()
			err = errors.Join(setLen(bytes, p.dictEnd, ro), setLen(offs, p.extent, ro))
		} else {
			err = setLen(v.heap.File(), p.extent, ro)
		}
		if err != nil {
			return fmt.Errorf("table: %s: %w", t.dir, err)
		}
		if p.bad >= 0 {
			t.recovery.ValuesReset += v.reset(p.bad, rows, p.extent)
		}
	}
	return nil
}

// resetIntentValues empties, in an intent found after a restart, the
// values of its packed row that point past what the last commit holds
// (extents): their bytes were written after it and may not have reached
// the disk. It returns how many it emptied.
func (t *core) resetIntentValues(in *intent, extents []uint64) int {
	if in.op != opSetRow && (in.op != opSwapRemove || in.index == in.rowsBefore-1) {
		return 0 // no row is written from this record (redo)
	}
	changed := 0
	pos := 0
	for k, c := range t.set.Columns() {
		size := c.ElemSize()
		for i := range t.vars {
			v := &t.vars[i]
			if v.k != k || v.xi >= len(extents) {
				continue
			}
			e := in.row[pos : pos+size]
			var fits bool
			if v.dict != nil {
				fits = uint64(ne.Uint32(e)) <= extents[v.xi]
			} else {
				start, end := ne.Uint64(e), ne.Uint64(e[8:])
				fits = start <= end && end <= extents[v.xi]
			}
			if !fits {
				clear(e)
				changed++
			}
		}
		pos += size
	}
	return changed
}

// setLen sets a file's length, and on a writable one records this boot as
// its writer's (as colset.Set.SetLen does for the element columns).
func setLen(f *colfile.File, n int, ro bool) error {
	if err := f.SetLen(n); err != nil {
		return err
	}
	if ro {
		return nil
	}
	return f.Adopt()
}

// reset sets every element of rows [from, rows) that does not fit extent
// x to the empty value; it returns how many it reset.
func (v *varCol) reset(from, rows, x int) int {
	n := 0
	if v.dict != nil {
		codes := varcol.Codes(v.col.File(), rows)
		for i := from; i >= 0; i = varcol.CheckCodes(codes, i+1, x) {
			codes[i] = 0
			n++
		}
		return n
	}
	spans := varcol.Spans(v.col.File(), rows)
	for i := from; i >= 0; i = varcol.CheckSpans(spans, i+1, uint64(x)) {
		spans[i] = varcol.Span{}
		n++
	}
	return n
}

// elemError describes the element of row i that does not fit extent x.
func (v *varCol) elemError(i, x int) error {
	path := v.col.File().Path()
	if v.dict != nil {
		return varcol.CodeError(path, i, varcol.Codes(v.col.File(), i+1)[i], x)
	}
	return varcol.SpanError(path, i, varcol.Spans(v.col.File(), i+1)[i], uint64(x))
}

// followVars takes in, for a reader, what its writer appended to the
// heaps and dictionaries, and checks the elements of rows [from, rows).
func (t *core) followVars(from, rows int) error {
	for i := range t.vars {
		v := &t.vars[i]
		if v.dict != nil {
			if err := v.dict.Follow(); err != nil {
				return err
			}
			if bad := varcol.CheckCodes(varcol.Codes(v.col.File(), rows), from, v.dict.Len()); bad >= 0 {
				return v.elemError(bad, v.dict.Len())
			}
			continue
		}
		f := v.heap.File()
		if x, ok := f.LiveLen(); ok && x > f.Len() {
			if _, err := f.Follow(); err != nil {
				return err
			}
			if err := f.SetLen(min(x, f.Cap())); err != nil {
				return err
			}
		}
		if bad := varcol.CheckSpans(varcol.Spans(v.col.File(), rows), from, uint64(f.Len())); bad >= 0 {
			return v.elemError(bad, f.Len())
		}
	}
	return nil
}

// fieldString returns the value of a string, bytes or symbol field at p,
// sharing its memory.
func fieldString(p unsafe.Pointer, kind string) string {
	if kind == persistence.KindBytes {
		b := *(*[]byte)(p)
		return unsafe.String(unsafe.SliceData(b), len(b))
	}
	return *(*string)(p)
}

// storeVars writes the variable-length values of the record at src (their
// bytes into the heaps, new symbols into the dictionaries) and each
// column's element to elem(v). Nothing is published but the heaps'
// frontiers and the dictionaries' new entries, which no row points at
// until the caller publishes one: on an error, the table's rows are as
// they were. Every value is checked against the limits first, so that a
// refused row adds no entry to a dictionary (entries are never removed,
// and would count against MaxSymbols for good).
func (t *core) storeVars(src unsafe.Pointer, elem func(v *varCol) unsafe.Pointer) error {
	for i := range t.vars {
		v := &t.vars[i]
		s := fieldString(unsafe.Add(src, v.off), v.spec.Kind)
		if err := t.checkValue(v, s); err != nil {
			return err
		}
		if v.dict != nil {
			if _, ok := v.dict.Lookup(s); !ok && v.dict.Room(t.maxSymbols()) == 0 {
				return t.symbolError(v, ErrSymbolLimit)
			}
		}
	}
	for i := range t.vars {
		v := &t.vars[i]
		s := fieldString(unsafe.Add(src, v.off), v.spec.Kind)
		if v.dict != nil {
			code, ok := v.dict.Lookup(s)
			if !ok {
				var err error
				if code, err = v.dict.Add(s, t.maxSymbols()); err != nil {
					return t.symbolError(v, err)
				}
			}
			*(*uint32)(elem(v)) = code
			continue
		}
		var sp varcol.Span
		if len(s) > 0 {
			at := v.heap.Len()
			if err := v.heap.Reserve(len(s)); err != nil {
				return fmt.Errorf("table: %s: column %q: %w", t.dir, v.spec.Name, err)
			}
			sp = v.heap.Put(at, unsafe.Slice(unsafe.StringData(s), len(s)))
			v.heap.Publish(int(sp.End))
		}
		*(*varcol.Span)(elem(v)) = sp
	}
	return nil
}

// checkValue refuses a value longer than the table's limit.
func (t *core) checkValue(v *varCol, s string) error {
	if limit := t.maxValueSize(); len(s) > limit {
		return fmt.Errorf("%w: column %q: a value of %d bytes, the limit is %d (Options.MaxValueSize)", ErrValueTooLarge, v.spec.Name, len(s), limit)
	}
	return nil
}

func (t *core) symbolError(v *varCol, err error) error {
	if errors.Is(err, ErrSymbolLimit) {
		return fmt.Errorf("%w: column %q holds %d distinct values, the limit (Options.MaxSymbols); store such values as a string column", ErrSymbolLimit, v.spec.Name, v.dict.Len())
	}
	return fmt.Errorf("table: %s: column %q: %w", t.dir, v.spec.Name, err)
}

func (t *core) maxValueSize() int {
	if t.opts.MaxValueSize > 0 {
		return t.opts.MaxValueSize
	}
	return DefaultMaxValueSize
}

func (t *core) maxSymbols() int {
	if t.opts.MaxSymbols > 0 {
		return t.opts.MaxSymbols
	}
	return DefaultMaxSymbols
}

// elemAt returns a pointer to the element of row i in v's column.
func elemAt(v *varCol, i int) unsafe.Pointer {
	return unsafe.Add(v.col.File().Data(), uintptr(i)*uintptr(v.col.ElemSize()))
}

// getVars sets the variable-length fields of the record at dst to copies
// of row i's values.
func (t *core) getVars(i int, dst unsafe.Pointer) {
	for k := range t.vars {
		v := &t.vars[k]
		p := unsafe.Add(dst, v.off)
		switch v.spec.Kind {
		case persistence.KindSymbol:
			*(*string)(p) = strings.Clone(v.dict.String(*(*uint32)(elemAt(v, i))))
		case persistence.KindString:
			*(*string)(p) = string(v.heap.Bytes(*(*varcol.Span)(elemAt(v, i))))
		default:
			b := v.heap.Bytes(*(*varcol.Span)(elemAt(v, i)))
			if len(b) == 0 {
				*(*[]byte)(p) = nil
			} else {
				*(*[]byte)(p) = append([]byte(nil), b...)
			}
		}
	}
}

// storeRowsVars is storeVars for rows rs about to land at rows [n,
// n+len(rs)): every value checked against the limits, and the codes the
// dictionaries hold written (lookupCodes), before anything is stored; then
// per column the new symbols added, or one reservation of the heap and each
// value copied in order.
func (t *Table[R]) storeRowsVars(n int, rs []R) error {
	if len(rs) == 0 {
		return nil
	}
	base, stride := unsafe.Pointer(&rs[0]), unsafe.Sizeof(rs[0])
	fieldOf := func(v *varCol) func(j int) string {
		return func(j int) string { return fieldString(unsafe.Add(base, uintptr(j)*stride+v.off), v.spec.Kind) }
	}
	for i := range t.vars {
		v := &t.vars[i]
		field := fieldOf(v)
		for j := range rs {
			if err := t.checkValue(v, field(j)); err != nil {
				return err
			}
		}
		if v.dict != nil {
			if err := t.lookupCodes(v, n, len(rs), field); err != nil {
				return err
			}
		}
	}
	for i := range t.vars {
		v := &t.vars[i]
		field := fieldOf(v)
		if v.dict != nil {
			if err := t.addCodes(v, n, len(rs), field); err != nil {
				return err
			}
			continue
		}
		total := 0
		for j := range rs {
			total += len(field(j))
		}
		at := v.heap.Len()
		if err := v.heap.Reserve(total); err != nil {
			return fmt.Errorf("table: %s: column %q: %w", t.dir, v.spec.Name, err)
		}
		var err error
		if total >= stageBytes {
			at, err = t.writeStaged(v, n, at, len(rs), field)
		} else {
			at = t.putMapped(v, n, at, len(rs), field)
		}
		if err != nil {
			return fmt.Errorf("table: %s: column %q: %w", t.dir, v.spec.Name, err)
		}
		v.heap.Publish(at)
	}
	return nil
}

// lookupCodes writes the codes of the k values field(j) of symbol column v,
// about to land at rows [n, n+k), that its dictionary holds (0 for the
// others, as for ""), adding nothing: a batch whose new values pass the
// dictionary's room is refused before any column stores anything (entries
// are never removed, and would count against MaxSymbols for good).
func (t *core) lookupCodes(v *varCol, n, k int, field func(j int) string) error {
	codes := unsafe.Slice((*uint32)(elemAt(v, n)), k)
	var fresh map[string]struct{} // the values the dictionary lacks
	for j := range k {
		s := field(j)
		code, ok := v.dict.Lookup(s)
		if !ok {
			if fresh == nil {
				fresh = map[string]struct{}{}
			}
			fresh[s] = struct{}{}
		}
		codes[j] = code
	}
	if room := v.dict.Room(t.maxSymbols()); len(fresh) > room {
		return fmt.Errorf("%w: column %q holds %d distinct values and the rows add %d, %d past the limit (Options.MaxSymbols); store such values as a string column",
			ErrSymbolLimit, v.spec.Name, v.dict.Len(), len(fresh), len(fresh)-room)
	}
	return nil
}

// addCodes adds the values lookupCodes left at code 0 to the dictionary of
// v, writing their codes.
func (t *core) addCodes(v *varCol, n, k int, field func(j int) string) error {
	codes := unsafe.Slice((*uint32)(elemAt(v, n)), k)
	for j := range k {
		if codes[j] != 0 {
			continue
		}
		s := field(j)
		if s == "" {
			continue
		}
		code, ok := v.dict.Lookup(s) // added for an earlier row of the batch
		if !ok {
			var err error
			if code, err = v.dict.Add(s, t.maxSymbols()); err != nil {
				return t.symbolError(v, err)
			}
		}
		codes[j] = code
	}
	return nil
}

// dictEnd returns where the first n entries of the dictionary whose
// offsets file is path end in its bytes file (0 for none), read with
// pread: the last entry's end offset.
func dictEnd(path string, n int, dataVersion uint32) (int, error) {
	if n == 0 {
		return 0, nil
	}
	f, err := colfile.Open(path, varcol.OffsetLayout, &colfile.Options{Tag: columnTag, ReadOnly: true, DataVersion: dataVersion})
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if n > f.Cap() {
		return 0, fmt.Errorf("%w: %s: %d entries, the file holds %d", ErrCorrupt, path, n, f.Cap())
	}
	return int(unsafe.Slice((*uint64)(f.Data()), n)[n-1]), nil
}

// putMapped copies the values field(0..k-1) to the heap at byte at, and
// their spans into rows [n, n+k), through the mappings; it returns the new
// frontier.
func (t *core) putMapped(v *varCol, n, at, k int, field func(int) string) int {
	spans := unsafe.Slice((*varcol.Span)(elemAt(v, n)), k)
	for j := range k {
		s := field(j)
		if len(s) == 0 {
			spans[j] = varcol.Span{}
			continue
		}
		spans[j] = v.heap.Put(at, unsafe.Slice(unsafe.StringData(s), len(s)))
		at += len(s)
	}
	return at
}

// writeStaged is putMapped for large batches, through pwrite: the values
// are gathered into a staging buffer of stageBytes, and their spans into
// another, each written to its file when full. The kernel copies into the
// page cache without a page fault per 4 KiB page, as AppendRows does for
// fixed-size columns.
func (t *core) writeStaged(v *varCol, n, at, k int, field func(int) string) (int, error) {
	if len(t.heapStage) < stageBytes {
		t.heapStage = make([]byte, stageBytes)
		t.spanStage = make([]varcol.Span, stageBytes/16)
	}
	buf, spans := t.heapStage[:0], t.spanStage[:0]
	bufAt, spansAt := at, n
	flushBytes := func() error {
		err := v.heap.WriteAt(buf, bufAt)
		bufAt += len(buf)
		buf = buf[:0]
		return err
	}
	for j := range k {
		s := field(j)
		sp := varcol.Span{}
		if len(s) > 0 {
			if len(buf)+len(s) > cap(buf) && len(buf) > 0 {
				if err := flushBytes(); err != nil {
					return 0, err
				}
			}
			sp = varcol.Span{Start: uint64(at), End: uint64(at + len(s))}
			if len(s) > cap(buf) {
				if err := v.heap.WriteAt(unsafe.Slice(unsafe.StringData(s), len(s)), at); err != nil {
					return 0, err
				}
				bufAt += len(s)
			} else {
				buf = append(buf, s...)
			}
			at += len(s)
		}
		if spans = append(spans, sp); len(spans) == cap(spans) {
			if err := v.col.File().WriteAt(varcol.SpanBytes(spans), spansAt); err != nil {
				return 0, err
			}
			spansAt += len(spans)
			spans = spans[:0]
		}
	}
	if len(buf) > 0 {
		if err := flushBytes(); err != nil {
			return 0, err
		}
	}
	if len(spans) > 0 {
		if err := v.col.File().WriteAt(varcol.SpanBytes(spans), spansAt); err != nil {
			return 0, err
		}
	}
	return at, nil
}
