package table

import (
	"fmt"
	"runtime/debug"
	"unsafe"

	"github.com/mmapvec/persistence/internal/crashpoint"
)

// grow makes room for n rows in every column.
func (t *Table[R]) grow(n int) error {
	err := t.set.Grow(n)
	if t.pre != nil && err == nil {
		t.pre.nudge(t.rows) // the pages past the old capacity
	}
	t.minCap = t.fastLimit()
	t.codec.Refresh() // grown files are mapped at new places
	if err != nil {
		return fmt.Errorf("table: %s: %w", t.dir, err)
	}
	return nil
}

// publish sets the row count to n in every column (see colset.Set.Publish).
func (t *core) publish(n int, step string) {
	t.set.Publish(n, step)
	t.rows = n
}

// publishFewer publishes n rows, fewer than before (a removal), and lowers
// the readers' count of the last Sync to at most n: the rows appended from
// n on will not have been synced, and a SyncedOnly reader must not show
// them. Called inside the change in place, so readers see both or neither.
func (t *core) publishFewer(n int, step string) {
	t.publish(n, step)
	t.readers.lowerSynced(n)
}

// fastCap is the row count below which Append takes its fast path: the
// columns' capacity, or 0 for a table with variable-length columns, whose
// appends all take the checked one.
func (t *core) fastCap() int {
	if t.vars != nil {
		return 0
	}
	return t.set.MinCap()
}

// Append adds one row. Its fields are copied into the columns by offset:
// no reflection, and no allocation unless it has string, []byte or Symbol
// fields. After Append returns, the row survives a crash of the process;
// after the next [Table.Sync], a crash of the OS.
func (t *Table[R]) Append(r R) error {
	n := t.rows
	if n >= t.minCap { // also when closed, read-only or poisoned: minCap is 0
		return t.appendChecked(&r)
	}
	t.codec.Put(n, &r)
	crashpoint.Hit("table.append")
	t.publish(n+1, "")
	return nil
}

// appendChecked is Append's path that checks the table, grows the
// columns, and writes variable-length values.
func (t *Table[R]) appendChecked(r *R) (err error) {
	defer t.guarded(debug.SetPanicOnFault(true), &err)
	if err := t.check(true); err != nil {
		return err
	}
	n := t.rows
	if n >= t.set.MinCap() {
		if err := t.grow(n + 1); err != nil {
			return err
		}
	}
	if n >= t.pretouchLimit() {
		t.pre.nudge(n)
		t.minCap = t.fastLimit()
	}
	if t.vars != nil {
		err := t.storeVars(unsafe.Pointer(r), func(v *varCol) unsafe.Pointer { return elemAt(v, n) })
		if err != nil {
			return err
		}
	}
	t.codec.Put(n, r)
	crashpoint.Hit("table.append")
	t.publish(n+1, "")
	return nil
}

// Batches of at least stageRows rows are written with pwrite from a
// staging buffer instead of through the mapping: a page fault per 4 KiB
// page costs more than the kernel's copy. Rows go through two halves of
// rowStageBytes, one gathered while the other is written (rowcodec
// WriteRows); a half of 1 MiB gives each column's pwrite a few hundred KiB,
// which the kernel takes in large folios, and a column's values
// (varcols.go) go through stageBytes.
const (
	stageRows     = 4096
	stageBytes    = 256 << 10
	rowStageBytes = 2 << 20
)

// AppendRows adds rows, column by column: each column receives one strided
// copy of its field from every row.
func (t *Table[R]) AppendRows(rs []R) (err error) {
	defer t.guarded(debug.SetPanicOnFault(true), &err)
	if err := t.check(true); err != nil {
		return err
	}
	n := t.rows
	if n+len(rs) > t.set.MinCap() {
		if err := t.grow(n + len(rs)); err != nil {
			return err
		}
	}
	if t.vars != nil {
		if err := t.storeRowsVars(n, rs); err != nil {
			return err
		}
	}
	staged := len(rs) >= stageRows
	if staged {
		if t.stage == nil {
			t.stage = make([]byte, max(rowStageBytes, 2*t.codec.PackedSize()))
		}
		// Nothing is published until every column holds the rows: on an
		// error the table is unchanged.
		if err := t.codec.WriteRows(n, rs, t.stage); err != nil {
			return fmt.Errorf("table: %w", err)
		}
	}
	if !staged {
		t.codec.PutColumns(n, rs)
	}
	t.publish(n+len(rs), "table.appendrows.column")
	if t.rows >= t.pretouchLimit() {
		t.pre.nudge(t.rows)
		t.minCap = t.fastLimit()
	}
	return nil
}

// inRange checks a row index for a method with an error result: out of
// range is an ErrRange error, never a panic (see the package doc).
func (t *core) inRange(op string, i int) error {
	if uint(i) >= uint(t.rows) {
		return fmt.Errorf("%w: %s(%d) with length %d", ErrRange, op, i, t.rows)
	}
	return nil
}

// Row returns row i. It panics if i is out of range, like a slice index,
// and after Close (saying the table is closed: every index is out of range
// then). Fields of R that are not stored are zero.
func (t *Table[R]) Row(i int) R {
	// One test on the hot path: rows is 0 once closed, and a table opened
	// as Any has no codec. Small enough to inline into a caller's loop.
	if uint(i) >= uint(t.rows) || t.codec == nil {
		t.badRow(i)
	}
	var r R
	t.get(i, &r)
	return r
}

// get reads row i, which lies within the table, into r.
func (t *Table[R]) get(i int, r *R) {
	t.codec.Get(i, r)
	if t.vars != nil {
		t.getVars(i, unsafe.Pointer(r))
	}
}

// badRow panics for Row(i), saying why.
func (t *core) badRow(i int) {
	switch {
	case t.closed:
		panic("table: Row on a closed table")
	case t.untyped:
		panic("table: Row on a table opened as table.Any")
	}
	panic(fmt.Sprintf("table: row index out of range [%d] with length %d", i, t.rows))
}

// SetRow replaces row i in every column. A crash of the process part way is
// finished by the next Open (the change is journaled first), so a row is
// never a mix of two writes. An i out of range is an [ErrRange] error.
func (t *Table[R]) SetRow(i int, r R) (err error) {
	defer t.guarded(debug.SetPanicOnFault(true), &err)
	if err := t.check(true); err != nil {
		return err
	}
	if err := t.inRange("SetRow", i); err != nil {
		return err
	}
	t.codec.Pack(t.scratch, &r)
	if t.vars != nil {
		// The new values' bytes first, past every row's: the journaled
		// row points at them.
		err := t.storeVars(unsafe.Pointer(&r), func(v *varCol) unsafe.Pointer {
			return unsafe.Pointer(&t.scratch[t.codec.PackedOffset(v.k)])
		})
		if err != nil {
			return err
		}
	}
	t.beginInPlace()
	defer t.endOwnInPlace()
	t.journal.write(intent{op: opSetRow, commitSeq: t.seq, index: uint64(i), rowsBefore: uint64(t.rows), row: t.scratch})
	t.changedInPlace(i)
	if t.vars != nil {
		t.codec.UnpackRow(i, t.scratch)
	} else {
		t.codec.Put(i, &r)
	}
	crashpoint.Hit("table.setrow.applied")
	t.journal.clear()
	return nil
}

// SwapRemove removes row i by moving the last row into its place: O(1),
// order not kept. Journaled like [Table.SetRow]. An i out of range is an
// [ErrRange] error.
func (t *Table[R]) SwapRemove(i int) (err error) {
	defer t.guarded(debug.SetPanicOnFault(true), &err)
	if err := t.check(true); err != nil {
		return err
	}
	if err := t.inRange("SwapRemove", i); err != nil {
		return err
	}
	last := t.rows - 1
	t.codec.PackRow(t.scratch, last)
	t.beginInPlace()
	defer t.endOwnInPlace()
	t.journal.write(intent{op: opSwapRemove, commitSeq: t.seq, index: uint64(i), rowsBefore: uint64(t.rows), row: t.scratch})
	t.removedFrom(last)
	t.changedInPlace(i)
	if i != last {
		t.codec.UnpackRow(i, t.scratch)
		crashpoint.Hit("table.swapremove.moved")
	}
	t.publishFewer(last, "")
	t.journal.clear()
	return nil
}

// Truncate keeps the first n rows in every column, journaled like
// [Table.SetRow]. The files keep their size for later appends. An n outside
// [0, Len] is an [ErrRange] error.
func (t *core) Truncate(n int) (err error) {
	defer t.guarded(debug.SetPanicOnFault(true), &err)
	if err := t.check(true); err != nil {
		return err
	}
	if uint(n) > uint(t.rows) { // n == Len is allowed: nothing to do
		return fmt.Errorf("%w: Truncate(%d) with length %d (keeps 0 to %d rows)", ErrRange, n, t.rows, t.rows)
	}
	if n == t.rows {
		return nil
	}
	t.beginInPlace()
	defer t.endOwnInPlace()
	t.journal.write(intent{op: opTruncate, commitSeq: t.seq, index: uint64(n), rowsBefore: uint64(t.rows), row: t.scratch})
	t.removedFrom(n)
	t.publishFewer(n, "")
	t.journal.clear()
	return nil
}
