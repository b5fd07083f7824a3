package table

import (
	"cmp"
	"errors"
	"fmt"
	"runtime/debug"
	"time"
)

// A reader's view: the row count it shows comes from the READERS page while
// a writer of this boot has published one, and from the files otherwise
// (the recovery an open makes, without writing). Refresh moves it forward;
// Consistent retries a read that a change in place overlapped.

// openReader decides a reader's row count. The page of a running writer is
// its word; without one (no writer of this boot, or it closed or died), the
// files are read as a read-only open always read them, and the page is read
// again after that: a writer that came up meanwhile may have changed what
// the files said, and its page wins.
func (t *core) openReader() error {
	if t.readers == nil {
		return t.recover() // a table of an earlier format, read under LOCK
	}
	st, err := t.readers.read(t.waitDeadline())
	switch {
	case errors.Is(err, errBusy) && !t.writerGone(st):
		return t.busy(st)
	case errors.Is(err, errBusy):
		// The writer died part way through a change in place: the files
		// tell the rest (an intent to redo is ErrNeedsRecovery).
	case err != nil:
		return err
	case st.running():
		return t.adopt(st)
	}
	if err := t.recover(); err != nil {
		return err
	}
	if st, err := t.readers.read(time.Now()); err == nil && st.running() {
		return t.adopt(st)
	}
	// The files' recovery decided the heaps and dictionaries too: no
	// writer of this boot publishes more (their live words may be an
	// earlier boot's).
	if last, seq, ok := t.readers.lastSynced(); ok {
		t.lowerCommitted(last, seq)
	}
	t.recovery.Rows = t.showRows(t.set.Len(), t.recovery.CommittedRows)
	return t.follow(t.recovery.Rows, false)
}

// lowerCommitted lowers the recovered count of the last Sync to last, the
// count the last writer of this boot published for the commit numbered
// seq: a removal below the last Sync's rows (Truncate, SwapRemove, Delete)
// lowered it there, and the rows appended since are not the synced ones.
// COMMIT still holds the Sync's count, so only files of this boot are told
// so (after a restart the table is as of that Sync), and only when the
// count belongs to the commit recovered (a writer killed between its
// commit and the page leaves the count of the one before).
func (t *core) lowerCommitted(last int, seq uint64) {
	// A SavePoint writer is left out: it redid the logged Syncs over the
	// files, whose rows are then the synced ones again.
	if seq == t.seq && t.liveFiles && (t.recovery.Source == SourceLive || t.opts.ReadOnly) {
		t.recovery.CommittedRows = min(t.recovery.CommittedRows, last)
	}
}

// adopt makes a new reader show what the page publishes. A check of the
// rows that fails while the writer changed rows in place is read again
// (see movedSince).
func (t *core) adopt(st pubState) error {
	deadline := t.waitDeadline()
	for spin := 0; ; spin++ {
		t.recovery = Recovery{Source: SourcePublished, CommittedRows: st.committed,
			ExtraFiles: t.recovery.ExtraFiles, CPUMissing: t.recovery.CPUMissing, CPUAdded: t.recovery.CPUAdded}
		t.recovery.Rows = t.showRows(st.rows, st.committed)
		err := t.follow(t.recovery.Rows, true)
		if err == nil || !t.movedSince(st) {
			return err
		}
		if time.Now().After(deadline) {
			return t.busy(st)
		}
		backoff(spin)
		next, rerr := t.readers.read(deadline)
		switch {
		case errors.Is(rerr, errBusy):
			return t.busy(next)
		case rerr != nil:
			return rerr
		case !next.running():
			return err
		}
		st = next
	}
}

// movedSince reports whether the writer changed rows in place since st
// was read. A reader checks its rows' values against the heaps and
// dictionaries after it read the page, outside the seqlock: a SetRow
// meanwhile appends its value, then points the row at it, and the check
// may see the new element beside the heap's old length. Such a failure is
// read again; only one over a steady count is damage.
func (t *core) movedSince(st pubState) bool {
	t.readers.sync()
	return t.readers.seq() != st.seq
}

// showRows is the count a reader shows of a table with rows rows, committed
// at the last Sync: a save point is the last Sync, beside a writer too.
func (t *core) showRows(rows, committed int) int {
	if t.opts.SyncedOnly || t.opts.SavePoint {
		return min(rows, committed)
	}
	return rows
}

// follow makes the reader show n rows, mapping grown files again, and,
// when a writer of this boot published n (published), what it appended to
// the heaps and dictionaries.
func (t *core) follow(n int, published bool) error {
	moved, err := t.set.Follow(n)
	if moved && t.rc != nil {
		t.rc.Refresh()
	}
	if err == nil && published {
		err = t.followVars(min(t.rows, n), n)
	}
	if err != nil {
		return fmt.Errorf("%w: %s: %d rows published, but %w", ErrCorrupt, t.dir, n, err)
	}
	t.rows = n
	return nil
}

// Refresh moves a reader's view to the rows the writer published last:
// every completed append, or with [Options.SyncedOnly] every row as of its
// last Sync. It costs a few atomic loads when the files did not grow, and
// a new mapping of each grown file when they did. Column views taken
// before show the new count after it, and slices taken before stay valid
// until Close.
//
// The count can go down: Truncate, SwapRemove, Delete and DeleteFunc lower
// it. On a writable table, and on a reader of a table that no writer of
// this boot has opened, Refresh changes nothing. While the writer changes
// rows in place, Refresh waits for it (see [Options.LockTimeout]) and then
// fails with [ErrBusy]; if the writer died part way, with ErrNeedsRecovery.
func (t *core) Refresh() error {
	if err := t.check(false); err != nil {
		return err
	}
	if !t.opts.ReadOnly || t.readers == nil {
		return nil
	}
	_, err := t.refresh(t.waitDeadline())
	return err
}

// refresh reads the page (waiting until deadline for a change in place)
// and shows what it publishes, if a writer of this boot published it; it
// returns the reading, whose sequence count a consistent read compares.
func (t *core) refresh(deadline time.Time) (pubState, error) {
	for spin := 0; ; spin++ {
		st, err := t.readers.read(deadline)
		if errors.Is(err, errBusy) {
			return st, t.busy(st)
		}
		if err != nil || !st.valid {
			return st, err
		}
		err = t.showPublished(st)
		if err == nil || !t.movedSince(st) {
			return st, err
		}
		if time.Now().After(deadline) {
			return st, t.busy(st)
		}
		backoff(spin)
	}
}

// showPublished moves the reader to what st publishes.
func (t *core) showPublished(st pubState) error {
	if n := t.showRows(st.rows, st.committed); n != t.rows {
		return t.follow(n, true)
	}
	if t.vars != nil {
		// A row set in place may point at a value past what this reader
		// maps of a heap or dictionary: map what grew.
		if err := t.followVars(t.rows, t.rows); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrCorrupt, t.dir, err)
		}
	}
	return nil
}

// Consistent calls read, and calls it again for as long as the writer
// changed rows in place while it ran, so that what read saw is one state of
// the table: no row half set, no SwapRemove or Truncate half done, no
// [Table.Update] half applied. Each call starts from a [Table.Refresh], so
// read sees the latest count. read must be safe to call more than once and
// should be short: a writer that keeps changing rows in place makes it wait
// (up to [Options.LockTimeout], at least a second) and return [ErrBusy].
// It returns read's error.
//
// On a writable table, whose own changes cannot overlap its reads, it calls
// read once.
func (t *core) Consistent(read func() error) error {
	if err := t.check(false); err != nil {
		return err
	}
	if !t.opts.ReadOnly || t.readers == nil {
		return read()
	}
	deadline := t.waitDeadline()
	for spin := 0; ; spin++ {
		st, err := t.refresh(deadline)
		if err != nil {
			return err
		}
		rerr := read()
		if t.readers == nil { // read closed the table
			return cmp.Or(rerr, t.check(false))
		}
		t.readers.sync()
		if t.readers.seq() == st.seq {
			return rerr
		}
		if time.Now().After(deadline) {
			return t.busy(st)
		}
		backoff(spin)
	}
}

// RowConsistent returns row i as one state of the table (see
// [Table.Consistent]); an i out of range is an [ErrRange] error.
func (t *Table[R]) RowConsistent(i int) (R, error) {
	var r R
	err := t.Consistent(func() error {
		if err := t.inRange("RowConsistent", i); err != nil {
			return err
		}
		if t.codec == nil {
			return fmt.Errorf("%w: a table opened as table.Any has no row type", ErrType)
		}
		t.get(i, &r)
		return nil
	})
	return r, err
}

// Update runs change as one change in place, for readers: a reader's
// [Table.Consistent] never sees part of what change writes through column
// slices or views (or SetRow calls). Writes through slices outside Update
// are seen by readers as they land, element by element. Update adds no
// durability: an OS crash keeps what the last Sync committed. change must
// not call Update's table from another goroutine.
//
// Stores into the table's mappings during Update, change's writes through
// slices included, are guarded as the table's own are: a fault (a full
// copy-on-write disk) returns [ErrFault] and poisons the table instead of
// ending the process. After a fault, or a panic in change, readers are
// left waiting (the rows may be half written) until the table is closed
// or, if the program recovers a panic and goes on, its next change in
// place ends.
func (t *core) Update(change func() error) (err error) {
	defer t.guarded(debug.SetPanicOnFault(true), &err)
	if err := t.check(true); err != nil {
		return err
	}
	t.beginInPlace()
	defer t.endOwnInPlace()                 // after a fault in change, readers keep waiting
	return cmp.Or(change(), t.check(false)) // ErrClosed if change closed the table
}

// beginInPlace and endInPlace bracket a writer's change in place: readers
// see the sequence count odd in between. They nest.
func (t *core) beginInPlace() {
	if t.inPlace++; t.inPlace == 1 {
		t.readers.begin()
	}
}

// endInPlace ends the section. One in which the table was poisoned (a
// fault in a call made inside Update, say, which that call turned into
// its error) ends with the count odd: a row may be half written.
func (t *core) endInPlace() {
	// No page once the change closed the table (Close inside Update).
	if t.inPlace--; t.inPlace == 0 && t.poison == nil && t.readers != nil {
		t.readers.end()
	}
}

// endOwnInPlace is endInPlace for a change made by the table's own code
// or inside Update, deferred. If the change panicked (a fault at a store,
// or a bug), a row may be half written: the count stays odd (until the
// next change in place ends, if the program goes on), so that readers
// wait (and, once this writer is gone, recover from the files) rather
// than take the row as consistent; the panic goes on to the method's
// guard (fault.go).
func (t *core) endOwnInPlace() {
	if r := recover(); r != nil {
		t.inPlace--
		panic(r)
	}
	t.endInPlace()
}

// waitDeadline is how long a reader waits for a change in place.
func (t *core) waitDeadline() time.Time {
	return time.Now().Add(max(t.opts.LockTimeout, time.Second))
}

// writerGone reports whether the writer that left the sequence count odd
// is gone: it closed, or its process no longer runs.
func (t *core) writerGone(st pubState) bool {
	return t.readers.buf == nil || t.readers.load(rdState) == stateClosed || !writerAlive(st.pid)
}

// busy is the error of a reader that waited for a change in place.
func (t *core) busy(st pubState) error {
	if t.writerGone(st) {
		return fmt.Errorf("%w: %s: the writer (pid %d) stopped part way through a change in place", ErrNeedsRecovery, t.dir, st.pid)
	}
	return fmt.Errorf("%w: %s: the writer (pid %d) has been changing rows in place for longer than the lock timeout", ErrBusy, t.dir, st.pid)
}
