package table

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/mmapvec/persistence"
	"github.com/mmapvec/persistence/internal/colfile"
	"github.com/mmapvec/persistence/internal/colset"
	"github.com/mmapvec/persistence/internal/crashpoint"
	"github.com/mmapvec/persistence/internal/fsutil"
	"github.com/mmapvec/persistence/internal/names"
)

// Schema evolution: a writable Open whose record type differs from the
// table's schema adds, drops (with Options.DropColumns), renames
// (`persist:"new,was=old"`) and widens columns in place, without touching
// the columns that stay as they are. Each change is one switch of the
// manifest: the new files are built first, beside the old ones, and a
// SCHEMA record written before anything else names them, so that an open
// after a crash rolls back (the manifest is still the old one) or finishes
// (it is the new one) the change. FORMAT.md has the steps.

const (
	schemaFile = "SCHEMA"      // the record of a schema change in progress
	commitNext = "COMMIT.next" // the COMMIT of the new schema, until the switch is finished
	// preparedSuffix marks a column file built for a schema change under
	// a name of its own, because its final name is still the old file's
	// (a widening) until the switch.
	preparedSuffix = ".schema"
)

// evolution is a planned schema change.
type evolution struct {
	next    *persistence.Manifest // the manifest after the change
	entries []persistence.SchemaChange
	adds    []persistence.ColumnSpec
	renames []colPair // a rename may widen too
	widens  []colPair // widened under the same name
	drops   []persistence.ColumnSpec
}

// colPair is a column before and after a change.
type colPair struct {
	old, new persistence.ColumnSpec
	widen    widener // nil if the layout is the same
}

// rewrites reports whether the change removes or replaces a file that
// readers may map (everything but adding columns).
func (e *evolution) rewrites() bool {
	return len(e.drops) > 0 || len(e.renames) > 0 || len(e.widens) > 0
}

// schemaRecord is the SCHEMA file: the manifest the change switches to
// (by its hash), the files it builds, and the old ones it removes.
type schemaRecord struct {
	Target uint64 `json:"target"`
	// Built are the files made for the new schema under their final names
	// (added columns, renamed ones linked to their new name); Prepared
	// those made under name+".schema", renamed to name once switched.
	Built    []string `json:"built"`
	Prepared []string `json:"prepared"`
	// Retired are old files the new manifest does not name.
	Retired []string `json:"retired"`
	// DataVersion, for a migration, is the data version that the headers
	// of the files in Headers get once the manifest has switched.
	DataVersion *uint32  `json:"data_version,omitempty"`
	Headers     []string `json:"headers,omitempty"`
}

// planSchema compares the table's manifest m with the record type's
// schema want and returns want mapped onto the table (each column's file
// and identity), with the change that makes the table fit it (nil if it
// fits). A read-only open may use a subset of the columns; any other
// difference needs a writable open.
func planSchema(m *persistence.Manifest, want schema, o Options, rowSize int) (schema, *evolution, error) {
	have := map[string]persistence.ColumnSpec{}
	for _, c := range m.Columns {
		have[c.Name] = c
	}
	used := map[string]string{} // old column name -> field that keeps or renames it
	e := &evolution{}
	var problems []string
	out := want
	out.cols = slices.Clone(want.cols)
	from := make([]string, len(want.cols)) // each column's old name; "" if added
	pending := []int{}
	// Exact names first: a was= tag applies only while its column still
	// has the old name, so that a finished rename is no change.
	for i, w := range want.cols {
		h, ok := have[w.Name]
		if !ok {
			pending = append(pending, i)
			continue
		}
		used[h.Name] = w.Field
		from[i] = h.Name
		out.cols[i].ID, out.cols[i].File = h.ID, h.File
		if h.Kind != w.Kind {
			problems = append(problems, kindChange(h, w))
			continue
		}
		if h.Layout.Equal(w.Layout) {
			continue
		}
		conv, err := widening(h.Layout, w.Layout)
		if err != nil {
			problems = append(problems, fmt.Sprintf("column %q (field %s): %v; convert it explicitly (copy the rows into a new table)", w.Name, w.Field, err))
			continue
		}
		e.widens = append(e.widens, colPair{old: h, new: out.cols[i], widen: conv})
	}
	for _, i := range pending {
		w := want.cols[i]
		was := want.was[i]
		h, ok := have[was]
		if other := caseTwin(m, w.Name); other != "" && used[other] == "" {
			// Names are case-insensitive: X.col and x.col are one file on
			// some file systems, and adding one while dropping the other
			// would remove it.
			problems = append(problems, fmt.Sprintf("field %s names column %q, and the table has %q: names that differ in case only are one name; keep %q",
				w.Field, w.Name, other, other))
			continue
		}
		switch {
		case was != "" && ok && used[was] != "":
			problems = append(problems, fmt.Sprintf("field %s renames column %q to %q, but field %s keeps %q", w.Field, was, w.Name, used[was], was))
			continue
		case was != "" && ok:
			used[was] = w.Field
			from[i] = was
			out.cols[i].ID = h.ID
			if h.Kind != w.Kind {
				problems = append(problems, kindChange(h, w))
				continue
			}
			p := colPair{old: h, new: out.cols[i]}
			if !h.Layout.Equal(w.Layout) {
				conv, err := widening(h.Layout, w.Layout)
				if err != nil {
					problems = append(problems, fmt.Sprintf("column %q renamed to %q (field %s): %v; convert it explicitly", was, w.Name, w.Field, err))
					continue
				}
				p.widen = conv
			}
			e.renames = append(e.renames, p)
		default:
			e.adds = append(e.adds, w)
		}
	}
	var lost []string
	for _, c := range m.Columns {
		if used[c.Name] == "" {
			e.drops = append(e.drops, c)
			lost = append(lost, fmt.Sprintf("%q (field %s, %s)", c.Name, c.Field, c.Layout))
		}
	}
	if len(problems) > 0 {
		return schema{}, nil, fmt.Errorf("%w: %s", ErrSchema, strings.Join(problems, "; "))
	}
	if len(e.adds)+len(e.renames)+len(e.widens)+len(e.drops) == 0 {
		return out, nil, nil
	}
	if o.ReadOnly {
		if len(e.adds)+len(e.renames)+len(e.widens) > 0 {
			return schema{}, nil, fmt.Errorf("%w: %s; a read-only open never changes a table: open it writable once to evolve its schema", ErrSchema, e.describe())
		}
		return out, nil, nil // a reader of some of the columns
	}
	if len(e.drops) > 0 && !o.DropColumns {
		return schema{}, nil, fmt.Errorf("%w: the record type lacks column(s) %s, which a writable open would drop with their data; set Options.DropColumns to drop them, or open read-only",
			ErrSchema, strings.Join(lost, ", "))
	}
	e.plan(m, out, from, rowSize)
	return out, e, nil
}

// describe says what the change does, for errors.
func (e *evolution) describe() string {
	var parts []string
	for _, c := range e.adds {
		parts = append(parts, fmt.Sprintf("add column %q (field %s, %s)", c.Name, c.Field, c.Layout))
	}
	for _, p := range e.renames {
		parts = append(parts, fmt.Sprintf("rename column %q to %q", p.old.Name, p.new.Name))
	}
	for _, p := range e.widens {
		parts = append(parts, fmt.Sprintf("widen column %q from %s to %s", p.old.Name, p.old.Layout, p.new.Layout))
	}
	for _, c := range e.drops {
		parts = append(parts, fmt.Sprintf("drop column %q", c.Name))
	}
	return strings.Join(parts, "; ")
}

// plan fills in the manifest after the change and its history entries;
// from[i] is the old name of out's column i ("" for an added one). Columns
// of a table made before identities existed get theirs first, in the
// manifest's order, as if given at its creation.
func (e *evolution) plan(m *persistence.Manifest, out schema, from []string, rowSize int) {
	next := identified(m)
	ids := map[string]uint32{} // old name -> id
	for _, c := range next.Columns {
		ids[c.Name] = c.ID
	}
	change := nextChange(next)
	now := nowUTC()
	entry := func(h persistence.SchemaChange) {
		h.Change, h.Time = change, now
		e.entries = append(e.entries, h)
	}
	// The new schema, in the record type's order, each column with its id.
	next.Columns = nil
	for i, c := range out.cols {
		c.File = c.Name + ".col"
		if from[i] == "" {
			c.ID = next.NextID
			next.NextID++
		} else {
			c.ID = ids[from[i]]
		}
		next.Columns = append(next.Columns, c)
	}
	byName := map[string]persistence.ColumnSpec{}
	for _, c := range next.Columns {
		byName[c.Name] = c
	}
	for i := range e.adds {
		e.adds[i] = byName[e.adds[i].Name]
		l := e.adds[i].Layout
		entry(persistence.SchemaChange{Op: "add", ID: e.adds[i].ID, Name: e.adds[i].Name, Layout: &l, Kind: e.adds[i].Kind})
	}
	for i := range e.renames {
		p := &e.renames[i]
		p.new = byName[p.new.Name]
		entry(persistence.SchemaChange{Op: "rename", ID: p.new.ID, Name: p.new.Name, OldName: p.old.Name})
		if p.widen != nil {
			ol, nl := p.old.Layout, p.new.Layout
			entry(persistence.SchemaChange{Op: "widen", ID: p.new.ID, Name: p.new.Name, Layout: &nl, OldLayout: &ol})
		}
	}
	for i := range e.widens {
		p := &e.widens[i]
		p.new = byName[p.new.Name]
		ol, nl := p.old.Layout, p.new.Layout
		entry(persistence.SchemaChange{Op: "widen", ID: p.new.ID, Name: p.new.Name, Layout: &nl, OldLayout: &ol})
	}
	for _, c := range e.drops {
		entry(persistence.SchemaChange{Op: "drop", ID: ids[c.Name], Name: c.Name})
	}
	next.RowSize = rowSize
	next.History = append(next.History, e.entries...)
	e.next = next
}

// identified returns a copy of m for a change to be made to: this
// machine's CPU as the last writer's, and, for a table made before
// columns had identities, each column its id (1, 2, ... in the manifest's
// order) and a history that starts with their creation.
func identified(m *persistence.Manifest) *persistence.Manifest {
	next := *m
	next.Columns = slices.Clone(m.Columns)
	next.History = slices.Clone(m.History)
	next.LastWriterCPU = persistence.HostCPU()
	if m.NextID != 0 {
		return &next
	}
	next.NextID = 1
	for i := range next.Columns {
		c := &next.Columns[i]
		c.ID = next.NextID
		next.NextID++
		l := c.Layout
		next.History = append(next.History, persistence.SchemaChange{Change: 1, Time: m.Created.Time,
			Op: "create", ID: c.ID, Name: c.Name, Layout: &l, Kind: c.Kind})
	}
	return &next
}

// record is the SCHEMA record of the change: which files it builds under
// which names, and which it retires.
func (e *evolution) record() schemaRecord {
	r := schemaRecord{Target: e.next.Hash()}
	for _, c := range e.adds {
		r.Built = append(r.Built, c.Files()...)
	}
	keep := map[string]bool{}
	for _, c := range e.next.Columns {
		for _, f := range c.Files() {
			keep[f] = true
		}
	}
	for _, p := range e.renames {
		r.Prepared = append(r.Prepared, p.new.Files()...)
	}
	for _, p := range e.widens {
		r.Prepared = append(r.Prepared, p.new.File)
	}
	for _, p := range e.renames {
		for _, f := range p.old.Files() {
			if !keep[f] {
				r.Retired = append(r.Retired, f)
			}
		}
	}
	for _, c := range e.drops {
		for _, f := range c.Files() {
			if !keep[f] {
				r.Retired = append(r.Retired, f)
			}
		}
	}
	return r
}

// evolve applies the change to the table in dir, whose writer's lock t
// holds: the table is opened as it is (recovered, then synced, so that
// every row is committed under the old schema), the new files are built,
// and the manifest is switched. The caller then opens the new schema.
func (t *core) evolve(m *persistence.Manifest, e *evolution) error {
	if _, err := readableManifest(e.next); err != nil {
		return fmt.Errorf("table: %s: schema change (%s): %w", t.dir, e.describe(), err)
	}
	if e.rewrites() {
		// Drop, rename and widen remove or replace files readers map.
		x, err := excludeReaders(t.dir, t.opts.LockTimeout)
		if err != nil {
			return err
		}
		defer x.release()
	}
	// A SavePoint open changes the schema of the table as of its last
	// Sync: the old schema's open drops what was appended after it too.
	old := newTable[Any](t.dir, Options{DataVersion: m.DataVersion, LockTimeout: t.opts.LockTimeout, SavePoint: t.opts.SavePoint})
	err := old.openColumns(m, m.Columns, 0)
	if err == nil {
		err = old.sync()
	}
	if err != nil {
		return errors.Join(fmt.Errorf("table: %s: schema change: %w", t.dir, err), old.Close())
	}
	rows, seq := old.rows, old.seq
	rec := e.record()
	err = e.build(t.dir, old, rec, rows, seq, m.DataVersion)
	if err = errors.Join(err, old.Close()); err != nil {
		rollbackSchema(t.dir, rec)
		return fmt.Errorf("table: %s: schema change (%s): %w", t.dir, e.describe(), err)
	}
	crashpoint.Hit("table.schema.switch")
	if err := writeManifest(t.dir, e.next); err != nil {
		return fmt.Errorf("table: %s: schema change: write the manifest: %w", t.dir, err)
	}
	crashpoint.Hit("table.schema.switched")
	if err := finishSchema(t.dir, rec); err != nil {
		return fmt.Errorf("table: %s: schema change: %w", t.dir, err)
	}
	t.recovery.SchemaChanges = append(t.recovery.SchemaChanges, e.entries...)
	return nil
}

// build writes the SCHEMA record, then every new file, then the new
// COMMIT, each made durable, so that the manifest switch finds them all.
func (e *evolution) build(dir string, old *Table[Any], rec schemaRecord, rows int, seq uint64, dataVersion uint32) error {
	if err := rec.write(dir); err != nil {
		return err
	}
	crashpoint.Hit("table.schema.record")
	col := func(name string) *colset.Column {
		for _, c := range old.set.Columns() {
			if c.Name() == name {
				return c
			}
		}
		return nil
	}
	for _, c := range e.adds {
		// Zero-filled: allocated blocks read as zeros, and a zero element
		// of a variable-length column is the empty value.
		if err := buildColumn(filepath.Join(dir, c.File), c, dataVersion, rows, nil, nil); err != nil {
			return fmt.Errorf("add column %q: %w", c.Name, err)
		}
		if err := createAux(dir, c, dataVersion); err != nil {
			return fmt.Errorf("add column %q: %w", c.Name, err)
		}
		crashpoint.Hit("table.schema.build")
	}
	for _, p := range e.renames {
		dst := filepath.Join(dir, p.new.Name+".col"+preparedSuffix)
		if p.widen == nil {
			// The same inodes under the new names: O(1). A file already
			// under a name (a rollback that could not remove it) is not
			// this column's.
			olds, news := p.old.Files(), p.new.Files()
			for j := range olds {
				dst := filepath.Join(dir, news[j]+preparedSuffix)
				_ = os.Remove(dst)
				if err := os.Link(filepath.Join(dir, olds[j]), dst); err != nil {
					return fmt.Errorf("rename column %q: %w", p.old.Name, err)
				}
			}
		} else if err := buildColumn(dst, p.new, dataVersion, rows, col(p.old.Name), p.widen); err != nil {
			return fmt.Errorf("rename and widen column %q: %w", p.old.Name, err)
		}
		crashpoint.Hit("table.schema.build")
	}
	for _, p := range e.widens {
		if err := buildColumn(filepath.Join(dir, p.new.File+preparedSuffix), p.new, dataVersion, rows, col(p.old.Name), p.widen); err != nil {
			return fmt.Errorf("widen column %q: %w", p.old.Name, err)
		}
		crashpoint.Hit("table.schema.build")
	}
	oldName := map[string]string{}
	for _, p := range e.renames {
		oldName[p.new.Name] = p.old.Name
	}
	lengths := commitLengths(e.next, rows, func(name string) uint64 {
		if o, ok := oldName[name]; ok {
			return old.extentOf(o)
		}
		return old.extentOf(name) // 0 for an added column
	})
	if err := writeCommitNext(dir, lengths, rows, seq, rec.Target); err != nil {
		return err
	}
	crashpoint.Hit("table.schema.commit")
	return fsutil.SyncDir(dir)
}

// writeCommitNext writes and fsyncs COMMIT.next: the COMMIT of the new
// schema, with rows committed and lengths (commitLengths), in both slots
// (the newer seq+1, as the next Sync would number it) under the new
// manifest's hash.
func writeCommitNext(dir string, lengths []uint64, rows int, seq, hash uint64) error {
	commit := append(encodeCommit(0, commitSlot{seq: seq + 1, rows: uint64(rows), hash: hash, lengths: lengths}),
		encodeCommit(1, commitSlot{seq: seq, rows: uint64(rows), hash: hash, lengths: lengths})...)
	return writeSynced(filepath.Join(dir, commitNext), commit)
}

// buildColumn makes the column file path for c with rows elements: zero,
// or each converted by conv from src, a column of the old schema; durable
// when it returns.
func buildColumn(path string, c persistence.ColumnSpec, dataVersion uint32, rows int, src *colset.Column, conv widener) error {
	_ = os.Remove(path) // a build an earlier, interrupted change left
	r, err := colfile.Open(path, c.Layout, &colfile.Options{Tag: columnTag, DataVersion: dataVersion, Create: true, NoDirSync: true})
	if err != nil {
		return err
	}
	err = r.EnsureCap(rows)
	if err == nil && src != nil {
		err = widenInto(r, c.Layout.Size, rows, src, conv)
	}
	if err == nil {
		err = r.SetLen(rows)
	}
	if err == nil {
		err = r.Flush()
	}
	return errors.Join(err, r.Close())
}

// widenInto converts src's rows into r, a block at a time.
func widenInto(r *colfile.File, size, rows int, src *colset.Column, conv widener) error {
	const block = 1 << 16
	buf := make([]byte, min(rows, block)*size)
	for at := 0; at < rows; at += block {
		n := min(block, rows-at)
		b := buf[:n*size]
		clear(b)
		for i := range n {
			conv(b[i*size:(i+1)*size], src.ElemBytes(at+i))
		}
		if err := r.WriteAt(b, at); err != nil {
			return err
		}
	}
	return nil
}

// readSchemaRecord reads dir's SCHEMA record; ok is false without one.
func readSchemaRecord(dir string) (schemaRecord, bool, error) {
	b, err := readTableFile(filepath.Join(dir, schemaFile), 0, 1<<20)
	if errors.Is(err, fs.ErrNotExist) {
		return schemaRecord{}, false, nil
	}
	if err != nil {
		return schemaRecord{}, false, err
	}
	var rec schemaRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return schemaRecord{}, false, fmt.Errorf("%w: %s: %v", ErrCorrupt, filepath.Join(dir, schemaFile), err)
	}
	for _, f := range slices.Concat(rec.Built, rec.Prepared, rec.Retired, rec.Headers) {
		// Names from a file: each must be one of a column's files, never
		// a path.
		if !tableFileName(f) {
			return schemaRecord{}, false, fmt.Errorf("%w: %s: %q is not a column file name", ErrCorrupt, filepath.Join(dir, schemaFile), f)
		}
	}
	return rec, true, nil
}

// resumeSchema finishes or rolls back a schema change that a crash
// interrupted, by whether the manifest was switched to its target: called
// by a writable open, under the writer's lock, before the columns open.
func resumeSchema(dir string, m *persistence.Manifest, timeout time.Duration) (string, error) {
	rec, ok, err := readSchemaRecord(dir)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", removeUnrecorded(dir, m)
	}
	switched := m.Hash() == rec.Target
	if err := rec.fits(dir, m, switched); err != nil {
		return "", err
	}
	// Both ways remove or rename files readers may map.
	x, err := excludeReaders(dir, timeout)
	if err != nil {
		return "", err
	}
	defer x.release()
	if switched {
		return "finished an interrupted schema change", finishSchema(dir, rec)
	}
	rollbackSchema(dir, rec)
	return "rolled back an interrupted schema change", nil
}

// fits checks a record read from disk against the manifest m before it is
// acted on: a rollback removes the files the change built and a finish
// those it retired, so neither may be a column file of m; and a prepared
// file takes a column's name, so it must be a regular file, never a
// symlink.
func (rec schemaRecord) fits(dir string, m *persistence.Manifest, switched bool) error {
	live := map[string]bool{}
	for _, c := range m.Columns {
		for _, f := range c.Files() {
			live[f] = true
		}
	}
	bad := func(f, why string) error {
		return fmt.Errorf("%w: %s: %q %s", ErrCorrupt, filepath.Join(dir, schemaFile), f, why)
	}
	if !switched {
		for _, f := range rec.Built {
			if live[f] {
				return bad(f, "is named as built by the change, but it is a column of the manifest")
			}
		}
		return nil
	}
	for _, f := range rec.Retired {
		if live[f] {
			return bad(f, "is named as retired by the change, but it is a column of the manifest")
		}
	}
	for _, f := range rec.Prepared {
		if fi, err := os.Lstat(filepath.Join(dir, f+preparedSuffix)); err == nil && !fi.Mode().IsRegular() {
			return bad(f+preparedSuffix, fmt.Sprintf("is not a regular file (%s)", fsutil.KindName(fi.Mode())))
		}
	}
	return nil
}

// finishSchema completes a switched change: prepared files take their
// names, the new COMMIT replaces the old, retired files go, then the
// record. Each step is idempotent.
func finishSchema(dir string, rec schemaRecord) error {
	for _, f := range rec.Prepared {
		err := os.Rename(filepath.Join(dir, f+preparedSuffix), filepath.Join(dir, f))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		crashpoint.Hit("table.schema.finish")
	}
	if rec.DataVersion != nil {
		for _, f := range rec.Headers {
			if err := colfile.SetDataVersion(filepath.Join(dir, f), *rec.DataVersion); err != nil {
				return err
			}
			crashpoint.Hit("table.schema.finish")
		}
	}
	if err := os.Rename(filepath.Join(dir, commitNext), filepath.Join(dir, commitFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	crashpoint.Hit("table.schema.finish")
	for _, f := range rec.Retired {
		if err := os.Remove(filepath.Join(dir, f)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	if err := fsutil.SyncDir(dir); err != nil {
		return err
	}
	crashpoint.Hit("table.schema.finish")
	if err := os.Remove(filepath.Join(dir, schemaFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return fsutil.SyncDir(dir)
}

// rollbackSchema removes what a change that never switched built, then
// its record. Best effort on the error path of a change; the next open
// repeats it.
func rollbackSchema(dir string, rec schemaRecord) {
	for _, f := range rec.Built {
		_ = os.Remove(filepath.Join(dir, f))
	}
	for _, f := range rec.Prepared {
		_ = os.Remove(filepath.Join(dir, f+preparedSuffix))
	}
	_ = os.Remove(filepath.Join(dir, commitNext))
	if fsutil.SyncDir(dir) == nil {
		_ = os.Remove(filepath.Join(dir, schemaFile))
		_ = fsutil.SyncDir(dir)
	}
}

// readSchemaPending lets a reader open beside a schema change that is
// running or that a crash interrupted. Before the manifest switch the old
// files are untouched; after it, the new COMMIT may still be COMMIT.next
// (the reader reads that one), and a file prepared under another name not
// yet renamed is something only a writer can finish.
func (t *core) readSchemaPending(m *persistence.Manifest) error {
	rec, pending, err := readSchemaRecord(t.dir)
	if err != nil || !pending || m.Hash() != rec.Target {
		return err
	}
	if rec.DataVersion != nil {
		return fmt.Errorf("%w: %s: a migration to data version %d was interrupted after its switch", ErrNeedsRecovery, t.dir, *rec.DataVersion)
	}
	for _, f := range rec.Prepared {
		if _, err := os.Lstat(filepath.Join(t.dir, f+preparedSuffix)); err == nil {
			return fmt.Errorf("%w: %s: a schema change was interrupted after its switch", ErrNeedsRecovery, t.dir)
		}
	}
	t.commitNext = true
	return nil
}

// nextChange is the number the next change's history entries get.
func nextChange(m *persistence.Manifest) int {
	if n := len(m.History); n > 0 {
		return m.History[n-1].Change + 1
	}
	return 1
}

// caseTwin returns the name of m's column that equals name but for case,
// or "".
func caseTwin(m *persistence.Manifest, name string) string {
	for _, c := range m.Columns {
		if c.Name != name && strings.EqualFold(c.Name, name) {
			return c.Name
		}
	}
	return ""
}

// write replaces dir's SCHEMA record with rec, atomically and durably:
// the first step of a change, before any file it names exists.
func (rec schemaRecord) write(dir string) error {
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	return fsutil.ReplaceFile(dir, schemaFile, append(b, '\n'))
}

// kindChange describes a field whose kind of column (fixed-size, string,
// bytes, symbol) differs from the stored column's: no schema change turns
// one into another.
func kindChange(h, w persistence.ColumnSpec) string {
	kind := func(k string) string {
		if k == "" {
			return "fixed-size values"
		}
		return k + " values"
	}
	return fmt.Sprintf("column %q holds %s, field %s has %s; convert it explicitly (copy the rows into a new table)",
		h.Name, kind(h.Kind), w.Field, kind(w.Kind))
}

// tableFileName reports whether f is the name of one of a column's files:
// a column name and the suffix of a column file or of an aux file.
func tableFileName(f string) bool {
	for _, suffix := range []string{".col", persistence.BytesSuffix, persistence.DictSuffix, persistence.DictBytesSuffix} {
		if stem, ok := strings.CutSuffix(f, suffix); ok && names.Validate(stem) == nil {
			return true
		}
	}
	return false
}

// removeUnrecorded removes the prepared files and COMMIT.next of a
// compaction that a crash stopped before it wrote its SCHEMA record (a
// schema change writes its record before it builds anything, so without
// one they are no change's).
func removeUnrecorded(dir string, m *persistence.Manifest) error {
	stale := []string{commitNext}
	for _, c := range m.Columns {
		for _, f := range c.Files() {
			stale = append(stale, f+preparedSuffix)
		}
	}
	removed := false
	for _, f := range stale {
		err := os.Remove(filepath.Join(dir, f))
		if err == nil {
			removed = true
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	if removed {
		return fsutil.SyncDir(dir)
	}
	return nil
}
