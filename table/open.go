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
// if dir does not exist or is empty, unless opts.ReadOnly. Missing parent
// directories are created as well, each made durable in its own parent.
//
// R is a struct; each exported field is a column, named by the field or by a
// `persist:"name"` tag, and `persist:"-"` skips a field. Fields must be
// fixed-size and pointer-free.
//
// Open recovers from a crash: see [Table.Recovered] for what it did. It
// fails with [ErrLocked] if another process (or handle) holds the table in
// a conflicting mode, [ErrArch] if the table was written on a machine of
// another byte order or pointer size, [ErrSchema] if R differs from the
// table's schema, and [ErrCorrupt] if a file is damaged. An empty dir, and
// a table that does not exist opened read-only (or as [Any]), fail with
// [ErrNotTable]; the latter matches fs.ErrNotExist as well.
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
	if dir == "" {
		// Some calls would take "" as the current directory and others as
		// no name at all (a rename fails): refuse it before either.
		return fmt.Errorf("%w: the directory name is empty", ErrNotTable)
	}
	fresh := newManifest(cols, rowSize, o)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist) && (o.ReadOnly || t.untyped):
		// Nothing to create: a reader writes nothing, and Any has no schema.
		return fmt.Errorf("%w: %s: %w", ErrNotTable, dir, err)
	case errors.Is(err, os.ErrNotExist):
		if err := mkdirParents(dir); err != nil {
			return fmt.Errorf("table: create %s: %w", dir, err)
		}
		if err := createNew(dir, fresh, o); err != nil {
			return fmt.Errorf("table: create %s: %w", dir, err)
		}
		t.recovery.Created = true
	case err != nil:
		return fmt.Errorf("table: %w", err)
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
		return lockError(dir, err, o.ReadOnly)
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
	// COMMIT and JOURNAL are read (and opened for writing) only as regular
	// files of the table's own, checked on the open descriptor.
	slot, idx, damaged, err := readCommit(commitPath, len(t.cols), t.hash)
	if err != nil {
		return prefixed(err)
	}
	// A commit is written after its rows reached every column file, and
	// column files never shrink below committed rows: a committed count
	// past any file is corrupt, whichever length is trusted below.
	for _, c := range t.cols {
		if slot.rows > uint64(c.Raw().Cap()) {
			return fmt.Errorf("%w: %s: committed row count %d, but column file %s holds %d rows",
				ErrCorrupt, commitPath, slot.rows, c.Raw().Path(), c.Raw().Cap())
		}
	}
	t.seq, t.slotIdx = slot.seq, idx
	t.recovery.CommitSlotDamaged = damaged
	t.recovery.CommittedRows = int(slot.rows) // at most a capacity: an int
	if !ro {
		if t.commit, err = openTableFile(commitPath, os.O_RDWR); err != nil {
			return prefixed(err)
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
	t.recovery.Source = SourceLive
	if !live {
		rows = int(slot.rows)
		t.recovery.Source = SourceCommitted
	}
	if t.recovery.Created {
		t.recovery.Source = SourceNew
	}

	// An interrupted SetRow, SwapRemove or Truncate.
	rowSize := 0
	for _, c := range t.cols {
		rowSize += c.ElemSize()
	}
	// Every row the redo may touch must lie in every file: check the count
	// chosen above before an intent's numbers are compared with it.
	for _, c := range t.cols {
		if rows > c.Raw().Cap() {
			return fmt.Errorf("%w: column file %s holds %d rows, the table has %d",
				ErrCorrupt, c.Raw().Path(), c.Raw().Cap(), rows)
		}
	}
	jpath := filepath.Join(t.dir, journalFile)
	in, pending, err := readJournal(jpath, rowSize)
	if err != nil {
		return prefixed(err)
	}
	redo := pending
	if pending && !live && !intentFitsCommit(in, slot) {
		// Written after the last Sync of an earlier boot, about rows that
		// commit does not hold: not promised, and not redone.
		redo = false
		t.recovery.IntentDiscarded = describe(in)
	}
	if redo {
		// A hostile intent is corrupt for a reader too, not "needs recovery".
		if err := t.checkIntent(in, rows); err != nil {
			return err
		}
	}
	if redo && ro {
		return fmt.Errorf("%w: %s: %s", ErrNeedsRecovery, t.dir, describe(in))
	}
	if redo {
		rows = t.redo(in, rows)
		t.recovery.Intent = describe(in)
	}

	crashpoint.Hit("table.recover.lengths") // a redo never raises rows: still within every file
	for _, c := range t.cols {
		r := c.Raw()
		before := r.Recovery().Live
		if !live {
			before = -1
		}
		if before > rows {
			t.recovery.Cut = append(t.recovery.Cut, ColumnCut{Column: c.Name(), Rows: before - rows})
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

// checkIntent checks an intent about to be redone against rows, the count
// recovery chose (already checked to lie within every column file). The
// intent passed its checksum but its numbers are still only numbers from a
// file: each is compared with what it must lie within, in unsigned
// arithmetic, before redo turns it into an index (a row index of 2^64-1
// would otherwise be -1: the column's header page).
func (t *Table[R]) checkIntent(in intent, rows int) error {
	n := uint64(rows)
	bad := func(why string, args ...any) error {
		return fmt.Errorf("%w: %s: %s: %s", ErrCorrupt, filepath.Join(t.dir, journalFile), describe(in), fmt.Sprintf(why, args...))
	}
	switch in.op {
	case opSetRow:
		// A SetRow past the rows is left alone by redo, but a record whose
		// index is not below its own row count was never written.
		if in.index >= in.rowsBefore {
			return bad("index %d is not below the row count", in.index)
		}
	case opSwapRemove:
		if in.index >= in.rowsBefore {
			return bad("index %d is not below the row count", in.index)
		}
		// SwapRemove sets each column from rowsBefore to rowsBefore-1, so
		// the shortest holds one of the two (after a reboot, the commit's
		// count, which intentFitsCommit found equal to rowsBefore).
		if in.rowsBefore != n && in.rowsBefore-1 != n {
			return bad("row count %d before it, but the columns hold %d rows", in.rowsBefore, rows)
		}
		// rowsBefore may be rows+1: the row it moves must lie in every file.
		for _, c := range t.cols {
			if in.rowsBefore > uint64(c.Raw().Cap()) {
				return bad("row count %d before it, but column file %s holds %d rows", in.rowsBefore, c.Raw().Path(), c.Raw().Cap())
			}
		}
	case opTruncate:
		if in.index > in.rowsBefore {
			return bad("new length %d is past the row count", in.index)
		}
		// Truncate sets each column from rowsBefore to the new length, so
		// the shortest holds one of the two (after a reboot, the commit's
		// count, which intentFitsCommit found equal to rowsBefore).
		if n != in.index && n != in.rowsBefore {
			return bad("it goes from %d to %d rows, but the columns hold %d", in.rowsBefore, in.index, rows)
		}
	}
	return nil
}

// redo repeats an interrupted operation that checkIntent accepted; it
// returns the row count after it. Every redo is idempotent.
func (t *Table[R]) redo(in intent, rows int) int {
	crashpoint.Hit("table.recover.redo")
	switch in.op {
	case opSetRow:
		// A row past the table (cut, or never committed) has nothing to
		// finish; below it, the index is an int within every file.
		if in.index < uint64(rows) {
			t.unpack(int(in.index), in.row)
		}
	case opSwapRemove:
		if in.index != in.rowsBefore-1 {
			t.unpack(int(in.index), in.row) // index < rowsBefore <= every capacity
		}
		return int(in.rowsBefore - 1)
	case opTruncate:
		return int(in.index) // index <= rows
	}
	return rows
}

// unpack writes a packed row into row i during recovery, before the mover
// exists. The caller has checked that i lies within every column file and
// readIntent that row holds one packed row.
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
		return fmt.Sprintf("Truncate(%d) of %s", in.index, rowCount(in.rowsBefore))
	default:
		return fmt.Sprintf("%s(%d) of %s", in.op, in.index, rowCount(in.rowsBefore))
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
