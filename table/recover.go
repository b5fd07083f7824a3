package table

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/mmapvec/persistence/internal/crashpoint"
)

// Recovery, in one place: which row count to trust (the live lengths of
// this boot, or the last commit), an interrupted SetRow, SwapRemove,
// Truncate, Delete or DeleteFunc to redo, and the columns to cut to it. The column files only
// report what they hold (colfile.Facts); everything is decided here.

// recover decides the row count, redoes an interrupted operation and makes
// every column that long. Each step is safe to repeat if recovery itself is
// interrupted: nothing is cleared until the columns agree.
func (t *core) recover() error {
	ro := t.opts.ReadOnly
	commitPath := filepath.Join(t.dir, commitFile)
	// COMMIT and JOURNAL are read (and opened for writing) only as regular
	// files of the table's own, checked on the open descriptor.
	// The manifest's columns, not the set's: a reader may open some only.
	slot, idx, damaged, err := readCommit(commitPath, t.man, t.hash)
	if t.commitNext && err != nil {
		// A schema change switched the manifest and has not yet renamed
		// its COMMIT into place; if it did just now, COMMIT is the one.
		s, i, d, nerr := readCommit(filepath.Join(t.dir, commitNext), t.man, t.hash)
		if errors.Is(nerr, fs.ErrNotExist) {
			s, i, d, nerr = readCommit(commitPath, t.man, t.hash)
		}
		if nerr == nil {
			slot, idx, damaged, err = s, i, d, nil
		}
	}
	if err != nil {
		return prefixed(err)
	}
	// A commit is written after its rows reached every column file, and
	// column files never shrink below committed rows: a committed count
	// past any file is corrupt, whichever length is trusted below.
	for _, c := range t.set.Columns() {
		if f := c.File(); slot.rows > uint64(f.Cap()) {
			return fmt.Errorf("%w: %s: committed row count %d, but column file %s holds %d rows",
				ErrCorrupt, commitPath, slot.rows, f.Path(), f.Cap())
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

	// Trust the live lengths only if every column's writer ran in this
	// boot; then the shortest is the last row every column holds.
	live, rows, err := t.liveRows()
	if err != nil {
		return err
	}
	t.liveFiles = live
	if t.opts.SavePoint {
		live = false // as after a restart: the table as of the last Sync
	}
	// The Syncs logged since that commit: the column files already hold
	// them in this boot; after a restart they are applied again (a reader
	// checks that they are there).
	chain, err := t.readWAL(slot)
	if err != nil {
		return err
	}
	if !live {
		if slot, err = t.replayWAL(chain, slot); err != nil {
			return err
		}
	} else if err := t.checkChain(chain, false); err != nil {
		return err
	}
	t.seq, _ = chain.last(slot.seq, slot.rows)
	_, synced := chain.last(slot.seq, slot.rows)
	t.recovery.CommittedRows = int(synced)
	t.meta, t.walOff, t.walSlotIdx = chain.meta, chain.end, chain.slotIdx
	t.logged, t.lastRows, t.lastLengths = len(chain.records), int(synced), slot.lengths
	if live && len(chain.records) > 0 {
		t.lastLengths = chainCommit(t.man, chain.records[len(chain.records)-1], t.hash).lengths
	}
	t.recovery.Source = SourceLive
	if !live {
		rows = int(slot.rows)
		t.recovery.Source = SourceCommitted
		t.recovery.Dropped = t.unsyncedRows(rows)
	}
	if t.recovery.Created {
		t.recovery.Source = SourceNew
	}

	// An interrupted SetRow, SwapRemove, Truncate, Delete or DeleteFunc.
	rowSize := 0
	for _, c := range t.set.Columns() {
		rowSize += c.ElemSize()
	}
	// Every row the redo may touch must lie in every file: check the count
	// chosen above before an intent's numbers are compared with it.
	for _, c := range t.set.Columns() {
		if f := c.File(); rows > f.Cap() {
			return fmt.Errorf("%w: column file %s holds %d rows, the table has %d",
				ErrCorrupt, f.Path(), f.Cap(), rows)
		}
	}
	jpath := filepath.Join(t.dir, journalFile)
	in, pending, err := readJournal(jpath, rowSize)
	if err != nil {
		return prefixed(err)
	}
	extents := slot.lengths[len(t.man.Columns):]
	redo := pending
	if pending && !live && !intentFitsCommit(in, slot) {
		// Written after the last Sync of an earlier boot, about rows that
		// commit does not hold: not promised, and not redone.
		redo = false
		t.recovery.IntentDiscarded = describe(in)
	}
	if pending && !live && !ro && (!redo || t.vars != nil) {
		// After a restart, an intent that is dropped, or whose values point
		// past what the commit holds, must not outlive this recovery as it
		// is: once the files below are this boot's, the next open would
		// take it as this boot's and find it does not fit.
		if t.journal, err = openJournal(jpath, rowSize); err != nil {
			return err
		}
		if !redo {
			crashpoint.Hit("table.recover.discard")
			t.journal.clear()
		} else if n := t.resetIntentValues(&in, extents); n > 0 {
			t.journal.write(in)
			t.recovery.ValuesReset += n
		}
	}
	if redo {
		// A hostile intent is corrupt for a reader too, not "needs recovery".
		if err := t.checkIntent(in, rows); err != nil {
			return err
		}
	}
	if redo && in.op.staged() && stagedCRC(t.set.Columns(), int(in.rowsBefore), int(in.kept)) != in.stagedCRC {
		// A delete's staged rows are written before its intent, so in this
		// boot they are intact. After a reboot they may not have reached
		// the disk although the intent did: then the delete is not redone
		// (nothing since the last Sync is promised after an OS crash).
		if live {
			return fmt.Errorf("%w: %s: %s: the staged rows fail their checksum",
				ErrCorrupt, filepath.Join(t.dir, journalFile), describe(in))
		}
		redo = false
		t.recovery.IntentDiscarded = describe(in)
	}
	if redo && ro {
		return fmt.Errorf("%w: %s: %s", ErrNeedsRecovery, t.dir, describe(in))
	}
	if redo {
		rows = t.redo(in, rows)
		t.recovery.Intent = describe(in)
		if !live && rows < t.lastRows {
			// After a restart, the redone SwapRemove, Truncate or Delete
			// is part of the state recovered (the log was applied under
			// it): Close must checkpoint that state, not the last Sync's
			// count over the rows the redo moved (the last row twice, a
			// removed one's neighbour lost). In the writer's own boot the
			// redo finishes a step of the table's life after its last
			// Sync, which Close does not commit, as for any other.
			t.lastRows, t.lastLengths = rows, slices.Clone(t.lastLengths)
			for i := range t.man.Columns {
				t.lastLengths[i] = uint64(rows)
			}
		}
	}

	// The variable-length columns are checked before anything is set, so
	// that an open that refuses them has written nothing.
	vars, err := t.checkVars(live, extents, rows)
	if err != nil {
		return err
	}
	crashpoint.Hit("table.recover.lengths") // a redo never raises rows: still within every file
	for _, c := range t.set.Columns() {
		if before := c.File().Facts().Live; live && before > rows {
			t.recovery.Cut = append(t.recovery.Cut, ColumnCut{Column: c.Name(), Rows: before - rows})
		}
	}
	if err := t.set.SetLen(rows); err != nil {
		return fmt.Errorf("table: %s: %w", t.dir, err)
	}
	if err := t.settleVars(vars, rows); err != nil {
		return err
	}
	t.recovery.Rows = rows
	if !ro {
		if t.journal == nil {
			if t.journal, err = openJournal(jpath, rowSize); err != nil {
				return err
			}
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
func (t *core) checkIntent(in intent, rows int) error {
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
		for _, c := range t.set.Columns() {
			if f := c.File(); in.rowsBefore > uint64(f.Cap()) {
				return bad("row count %d before it, but column file %s holds %d rows", in.rowsBefore, f.Path(), f.Cap())
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
	case opDelete, opDeleteFunc:
		// At least one row at or after index is removed, so the kept rows
		// after it number fewer than rowsBefore-index: the staged rows
		// [rowsBefore, rowsBefore+kept) never overlap their destination.
		if in.index >= in.rowsBefore {
			return bad("first removed row %d is not below the row count", in.index)
		}
		if in.kept >= in.rowsBefore-in.index {
			return bad("%d rows kept after row %d of %d", in.kept, in.index, in.rowsBefore)
		}
		// Each column goes from rowsBefore to index+kept rows.
		if n != in.rowsBefore && n != in.index+in.kept {
			return bad("it goes from %d to %d rows, but the columns hold %d", in.rowsBefore, in.index+in.kept, rows)
		}
		// The staged rows must lie in every file (rowsBefore may be past
		// rows, and kept is any number until checked).
		for _, c := range t.set.Columns() {
			if f := c.File(); in.rowsBefore > uint64(f.Cap()) || in.kept > uint64(f.Cap())-in.rowsBefore {
				return bad("its %d staged rows at row %d lie past column file %s, which holds %d rows",
					in.kept, in.rowsBefore, f.Path(), f.Cap())
			}
		}
	}
	return nil
}

// redo repeats an interrupted operation that checkIntent accepted; it
// returns the row count after it. Every redo is idempotent.
func (t *core) redo(in intent, rows int) int {
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
	case opDelete, opDeleteFunc:
		// Copies only staged rows, which the copy never overwrites: the
		// same rows land whether or not a copy was interrupted before.
		moveStaged(t.set.Columns(), int(in.index), int(in.rowsBefore), int(in.kept))
		return int(in.index + in.kept)
	}
	return rows
}

// unpack writes a packed row into row i during recovery, before the codec
// exists. The caller has checked that i lies within every column file and
// readIntent that row holds one packed row.
func (t *core) unpack(i int, row []byte) {
	pos := 0
	for _, c := range t.set.Columns() {
		es := c.ElemSize()
		copy(c.ElemBytes(i), row[pos:pos+es])
		pos += es
	}
}

// liveRows reports whether every column's last writer ran in this boot,
// and if so the shortest live length. A live length word that fails its
// check bits in a file of this boot is damage: nothing else wrote it.
func (t *core) liveRows() (live bool, rows int, err error) {
	rows = -1
	if !t.varsLive() {
		return false, 0, nil
	}
	for _, c := range t.set.Columns() {
		fx := c.File().Facts()
		if !fx.SameBoot {
			return false, 0, nil
		}
		if !fx.LiveOK {
			return false, 0, fmt.Errorf("%w: %s: the live length word fails its check bits", ErrCorrupt, c.File().Path())
		}
		if rows < 0 || fx.Live < rows {
			rows = fx.Live
		}
	}
	return true, rows, nil
}

// unsyncedRows is how many rows past committed the columns' live lengths
// still count after a restart (the most any column says, where its word is
// intact and within its file): rows written but never synced.
func (t *core) unsyncedRows(committed int) int {
	most := committed
	for _, c := range t.set.Columns() {
		if fx := c.File().Facts(); fx.LiveOK && fx.Live <= c.File().Cap() {
			most = max(most, fx.Live)
		}
	}
	return most - committed
}

func describe(in intent) string {
	switch in.op {
	case opTruncate:
		return fmt.Sprintf("Truncate(%d) of %s", in.index, rowCount(in.rowsBefore))
	case opDeleteFunc:
		return fmt.Sprintf("DeleteFunc of %s (rows from %d on: %d kept)", rowCount(in.rowsBefore), in.index, in.kept)
	default:
		return fmt.Sprintf("%s(%d) of %s", in.op, in.index, rowCount(in.rowsBefore))
	}
}
