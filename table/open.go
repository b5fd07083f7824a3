package table

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"

	"github.com/mmapvec/persistence"
	"github.com/mmapvec/persistence/column"
	"github.com/mmapvec/persistence/internal/crashpoint"
	"github.com/mmapvec/persistence/lockfile"
	"github.com/mmapvec/persistence/mmap"
)

// Open opens the table in dir for rows of type R, creating it (atomically)
// if dir does not exist or is empty, unless opts.ReadOnly.
//
// R is a struct; each exported field is a column, named by the field or by a
// `persist:"name"` tag, and `persist:"-"` skips a field. Fields must be
// fixed-size and pointer-free.
//
// Open recovers from a crash: see [Table.Recovered] for what it did. It
// fails with [ErrLocked] if another process (or handle) holds the table in
// a conflicting mode, [ErrArch] if the table was written on a machine of
// another byte order or pointer size, [ErrSchema] if R differs from the
// table's schema, and [ErrCorrupt] if a file is damaged.
func Open[R any](dir string, opts *Options) (*Table[R], error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	t := &Table[R]{dir: dir, opts: o}
	rt := reflect.TypeFor[R]()
	var cols []persistence.Column
	if rt == reflect.TypeFor[Any]() {
		t.untyped = true
	} else {
		var err error
		if cols, err = schemaOf(rt); err != nil {
			return nil, err
		}
	}
	if err := t.open(cols, int(rt.Size())); err != nil {
		return nil, errors.Join(err, t.Close())
	}
	return t, nil
}

func (t *Table[R]) open(cols []persistence.Column, rowSize int) error {
	dir, o := t.dir, t.opts
	fresh := newManifest(cols, rowSize, o)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist) && t.untyped:
		return fmt.Errorf("%w: %s: %w", ErrNotTable, dir, err)
	case errors.Is(err, os.ErrNotExist) && !o.ReadOnly:
		if err := createNew(dir, fresh, o); err != nil {
			return fmt.Errorf("table: create %s: %w", dir, err)
		}
		t.recovery.Created = true
	case err != nil:
		return err
	case !fi.IsDir():
		return fmt.Errorf("%w: %s is not a directory", ErrNotTable, dir)
	}

	lockPath := filepath.Join(dir, lockFile)
	if o.ReadOnly {
		if _, err := os.Lstat(filepath.Join(dir, persistence.ManifestFile)); errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%w: %s has no %s", ErrNotTable, dir, persistence.ManifestFile)
		}
	}
	t.lock, err = lockfile.Acquire(lockPath, &lockfile.Options{Shared: o.ReadOnly, Timeout: o.LockTimeout, NoCreate: o.ReadOnly})
	if err != nil {
		return fmt.Errorf("table: %s: %w", dir, err)
	}
	if err := cleanLeftovers(dir, o.ReadOnly); err != nil {
		return fmt.Errorf("table: %s: %w", dir, err)
	}

	man, err := persistence.ReadManifest(dir)
	if errors.Is(err, os.ErrNotExist) && !o.ReadOnly && !t.untyped {
		if err := createInPlace(dir, fresh, o); err != nil {
			return fmt.Errorf("table: create %s: %w", dir, err)
		}
		t.recovery.Created = true
		man, err = persistence.ReadManifest(dir)
	}
	if err != nil {
		return fmt.Errorf("table: %s: %w", dir, err)
	}
	if err := man.CheckArch(); err != nil {
		return fmt.Errorf("table: %s: %w", dir, err)
	}
	if t.untyped {
		cols = man.Columns
	} else if err := man.CompareSchema(cols); err != nil {
		return fmt.Errorf("table: %s: %w", dir, err)
	}
	if t.untyped {
		t.opts.DataVersion, o.DataVersion = man.DataVersion, man.DataVersion
	}
	if man.DataVersion != o.DataVersion {
		return fmt.Errorf("table: %s: %w: table has data version %d, opened with %d", dir, mmap.ErrDataVersion, man.DataVersion, o.DataVersion)
	}
	t.man, t.hash = man, man.Hash()
	t.recovery.CPUMissing, t.recovery.CPUAdded = man.CPUDiff()

	// Columns in the type's order (the manifest may list them otherwise).
	offsets := make([]int, len(cols))
	for i, c := range cols {
		path := filepath.Join(dir, c.File)
		if err := regularFile(path); err != nil {
			return fmt.Errorf("%w: column %q: %w", ErrCorrupt, c.Name, err)
		}
		raw, err := mmap.OpenRaw(path, c.Layout, &mmap.Options{Tag: columnTag, DataVersion: o.DataVersion,
			ReadOnly: o.ReadOnly, NoLock: true, ExternalCommit: true})
		if err != nil {
			return fmt.Errorf("table: column %q: %w", c.Name, classify(err))
		}
		t.cols = append(t.cols, column.New(c.Name, raw, &t.length))
		t.raws = append(t.raws, raw)
		offsets[i] = c.Offset
	}
	t.recovery.ExtraFiles = extraFiles(dir, man)

	if err := t.recover(); err != nil {
		return err
	}
	t.updateMinCap()
	if t.untyped {
		t.minCap = 0 // every append takes the checked path, which refuses it
		return nil
	}
	t.mover = column.NewMover[R](t.cols, offsets)
	t.scratch = make([]byte, t.mover.PackedSize())

	if !o.ReadOnly {
		if err := t.touchManifest(); err != nil {
			return err
		}
	}
	return nil
}

// regularFile checks that path is a regular file and not a symlink, which
// could lead reads and writes outside the table directory.
func regularFile(path string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file (%s); the table's files must be its own", path, fi.Mode().Type())
	}
	return nil
}

// extraFiles lists files the manifest does not account for.
func extraFiles(dir string, m *persistence.Manifest) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	known := map[string]bool{lockFile: true, commitFile: true, journalFile: true, persistence.ManifestFile: true}
	for _, c := range m.Columns {
		known[c.File] = true
	}
	var extra []string
	for _, e := range entries {
		if !known[e.Name()] {
			extra = append(extra, e.Name())
		}
	}
	return extra
}

// recover decides the row count, redoes an interrupted operation and makes
// every column that long. Each step is safe to repeat if recovery itself is
// interrupted: nothing is cleared until the columns agree.
func (t *Table[R]) recover() error {
	ro := t.opts.ReadOnly
	commitPath := filepath.Join(t.dir, commitFile)
	for _, name := range []string{commitFile, journalFile} {
		if err := regularFile(filepath.Join(t.dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
	}
	slot, idx, damaged, err := readCommit(commitPath, len(t.cols), t.hash)
	if err != nil {
		return fmt.Errorf("table: %w", err)
	}
	t.seq, t.slotIdx = slot.seq, idx
	t.recovery.CommitSlotDamaged = damaged
	t.recovery.CommittedRows = int(slot.rows)
	if !ro {
		if t.commit, err = os.OpenFile(commitPath, os.O_RDWR, 0); err != nil {
			return err
		}
	}

	// Trust the live lengths only if every column's writer ran in this boot.
	live := true
	rows := -1
	for _, c := range t.cols {
		rec := c.Raw().Recovery()
		if rec.Trusted != "live" {
			live = false
			break
		}
		if rows < 0 || rec.Live < rows {
			rows = rec.Live
		}
	}
	t.recovery.Source = "live"
	if !live {
		rows = int(slot.rows)
		t.recovery.Source = "committed"
	}
	if t.recovery.Created {
		t.recovery.Source = "new"
	}

	// An interrupted SetRow, SwapRemove or Truncate.
	rowSize := 0
	for _, c := range t.cols {
		rowSize += c.ElemSize()
	}
	jpath := filepath.Join(t.dir, journalFile)
	jb, err := os.ReadFile(jpath)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	in, pending := readIntent(jb, rowSize)
	redo := pending
	if pending && !live && !intentFitsCommit(in, slot) {
		// Written after the last Sync of an earlier boot, about rows that
		// commit does not hold: not promised, and not redone.
		redo = false
		t.recovery.IntentDiscarded = describe(in)
	}
	if redo && ro {
		return fmt.Errorf("%w: %s: %s", ErrNeedsRecovery, t.dir, describe(in))
	}
	if redo {
		rows, err = t.redo(in, rows)
		if err != nil {
			return err
		}
		t.recovery.Intent = describe(in)
	}

	for _, c := range t.cols {
		if rows > c.Raw().Cap() {
			return fmt.Errorf("%w: column file %s holds %d rows, the table has %d",
				ErrCorrupt, c.Raw().Path(), c.Raw().Cap(), rows)
		}
	}
	crashpoint.Hit("table.recover.lengths")
	for _, c := range t.cols {
		r := c.Raw()
		before := r.Recovery().Live
		if !live {
			before = -1
		}
		if before > rows {
			if t.recovery.Cut == nil {
				t.recovery.Cut = map[string]int{}
			}
			t.recovery.Cut[c.Name()] = before - rows
		}
		if ro {
			err = r.SetViewLen(rows)
		} else {
			err = r.Adopt(rows)
		}
		if err != nil {
			return fmt.Errorf("table: column %q: %w", c.Name(), classify(err))
		}
	}
	t.rows = rows
	t.length.Store(int64(rows))
	t.recovery.Rows = rows
	if !ro {
		if t.journal, err = openJournal(jpath, rowSize); err != nil {
			return err
		}
		if pending {
			crashpoint.Hit("table.recover.clear")
			t.journal.clear()
		}
	}
	return nil
}

// intentFitsCommit reports whether an intent found after a reboot belongs
// to the committed state: written after that commit, about rows it holds.
func intentFitsCommit(in intent, s commitSlot) bool {
	if in.commitSeq != s.seq {
		return false
	}
	if in.op == opSetRow {
		return in.index < s.rows
	}
	return in.rowsBefore == s.rows
}

// redo repeats an interrupted operation; it returns the row count after it.
func (t *Table[R]) redo(in intent, rows int) (int, error) {
	need := int(in.rowsBefore) // the rows a redo touches
	switch in.op {
	case opSetRow:
		need = min(int(in.index)+1, rows)
	case opTruncate:
		need = min(int(in.index), rows)
	}
	for _, c := range t.cols {
		if need > c.Raw().Cap() {
			return 0, fmt.Errorf("%w: %s: column file %s holds %d rows, the interrupted %s needs %d",
				ErrCorrupt, t.dir, c.Raw().Path(), c.Raw().Cap(), describe(in), need)
		}
	}
	crashpoint.Hit("table.recover.redo")
	switch in.op {
	case opSetRow:
		if int(in.index) < rows {
			t.unpack(int(in.index), in.row)
		}
		return rows, nil
	case opSwapRemove:
		if in.index >= in.rowsBefore || in.rowsBefore == 0 {
			return 0, fmt.Errorf("%w: %s: journal: SwapRemove(%d) of %d rows", ErrCorrupt, t.dir, in.index, in.rowsBefore)
		}
		if in.index != in.rowsBefore-1 {
			t.unpack(int(in.index), in.row)
		}
		return int(in.rowsBefore - 1), nil
	case opTruncate:
		if in.index > in.rowsBefore {
			return 0, fmt.Errorf("%w: %s: journal: Truncate(%d) of %d rows", ErrCorrupt, t.dir, in.index, in.rowsBefore)
		}
		return min(rows, int(in.index)), nil
	}
	return rows, nil
}

// unpack writes a packed row into row i during recovery, before the mover
// exists.
func (t *Table[R]) unpack(i int, row []byte) {
	pos := 0
	for _, c := range t.cols {
		es := c.ElemSize()
		copy(c.ElemBytes(i), row[pos:pos+es])
		pos += es
	}
}

func describe(in intent) string {
	switch in.op {
	case opTruncate:
		return fmt.Sprintf("Truncate(%d) of %d rows", in.index, in.rowsBefore)
	default:
		return fmt.Sprintf("%s(%d) of %d rows", in.op, in.index, in.rowsBefore)
	}
}

// touchManifest records this machine's CPU as the last writer's,
// rewriting the manifest only when it changed: a rewrite costs fsyncs, and
// an open must stay O(1) and cheap.
func (t *Table[R]) touchManifest() error {
	cpu := persistence.HostCPU()
	if reflect.DeepEqual(cpu, t.man.LastWriterCPU) && slices.Equal(cpu.Features, t.man.LastWriterCPU.Features) {
		return nil
	}
	m := *t.man
	m.LastWriterCPU = cpu
	if err := persistence.WriteManifest(t.dir, &m); err != nil {
		return fmt.Errorf("table: %s: update manifest: %w", t.dir, err)
	}
	t.man = &m
	return nil
}

func (t *Table[R]) updateMinCap() {
	t.minCap = -1
	for _, c := range t.cols {
		if cp := c.Raw().Cap(); t.minCap < 0 || cp < t.minCap {
			t.minCap = cp
		}
	}
}
