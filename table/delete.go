package table

import (
	"fmt"
	"hash/crc32"
	"runtime/debug"
	"unsafe"

	"github.com/mmapvec/persistence/internal/colset"
	"github.com/mmapvec/persistence/internal/crashpoint"
	"github.com/mmapvec/persistence/internal/rowcodec"
)

// A stable delete removes rows and closes the gaps, keeping the order. It
// cannot shift rows down in place under a journal of fixed size: a shift
// overwrites the rows it reads, so redoing a half-done shift would move
// some rows twice, and the rows to remove (a DeleteFunc's choice) cannot
// be asked again after a crash. Instead:
//
//  1. stage: every row kept after the first removed row f is copied, in
//     order, past the row count, to [n, n+k), in every column. Nothing
//     the table shows has changed; a crash leaves the old table (the
//     staged rows are capacity, overwritten by the next append);
//  2. journal: one intent records f, n, k and a checksum of the staged
//     rows;
//  3. move: [n, n+k) is copied to [f, f+k) in every column. Source and
//     destination do not overlap (f+k < n), so the copy reads only staged
//     rows, which nothing overwrites: redoing it from any point gives the
//     same rows;
//  4. publish f+k as the row count, and clear the intent.
//
// The price is room for k rows past the rows (the files grow if needed,
// and keep that room for later appends) and copying the kept rows twice.

// deleteBlockBytes bounds the rows DeleteFunc reads per block (see All).
const deleteBlockBytes = 64 << 10

// Delete removes row i and moves every later row down by one, keeping the
// order: O(Len-i). Like [Table.SwapRemove] it is journaled: a crash of the
// process at any point leaves either the table before the call or the
// table after it, never a torn, lost or repeated row. It needs room for
// Len-i-1 rows past the last row (the column files grow if they lack it;
// later appends use that room). An i out of range is an [ErrRange] error.
func (t *Table[R]) Delete(i int) (err error) {
	defer t.guarded(debug.SetPanicOnFault(true), &err)
	if err := t.check(true); err != nil {
		return err
	}
	if err := t.inRange("Delete", i); err != nil {
		return err
	}
	n := t.rows
	k := n - i - 1
	if err := t.reserveStage(n + k); err != nil {
		return err
	}
	for _, c := range t.set.Columns() {
		crashpoint.Hit("table.delete.stage")
		copy(rowcodec.Elems(c, n, k), rowcodec.Elems(c, i+1, k))
	}
	t.finishDelete(opDelete, i, k)
	return nil
}

// DeleteFunc removes every row for which del returns true, keeping the
// order of the others, and returns how many it removed. It reads the rows
// in blocks, column by column, and calls del once per row, in order,
// before it changes anything: del must not change the table (a change of
// its length or rows, a Sync or a Compact is detected and makes DeleteFunc
// fail with [ErrChanged], the table as del left it; a write through a
// column view or slice is not detected, and is lost if its row was already
// read).
// Journaled like [Table.Delete]: a crash of the process at any point leaves
// either the table before the call or the table after it. It needs room
// past the last row for the rows kept after the first removed one.
//
// del runs outside the guard that turns a fault in a table file into
// [ErrFault]: a panic in del, a memory fault of its own included, reaches
// the caller as it would from any call, and leaves the table unchanged and
// usable.
func (t *Table[R]) DeleteFunc(del func(R) bool) (removed int, err error) {
	if err := t.check(true); err != nil {
		return 0, err
	}
	n := t.rows
	var zero R
	block := max(1, min(n, deleteBlockBytes/max(1, int(unsafe.Sizeof(zero)))))
	buf := make([]R, block)
	keep := make([]bool, block)
	first, k := -1, 0 // the first row removed; rows staged so far
	mark := t.changeMark()
	for from := 0; from < n; from += block {
		m, err := t.readGuarded(buf[:min(block, n-from)], from)
		if err != nil {
			return 0, err
		}
		kept := 0
		for j, r := range buf[:m] {
			keep[j] = !del(r)
			if !keep[j] && first < 0 {
				first = from + j
			}
			if keep[j] && first >= 0 {
				kept++
			}
		}
		if err := t.check(true); err != nil {
			return 0, err // closed by del, or poisoned
		}
		if t.rows != n {
			return 0, fmt.Errorf("%w: DeleteFunc: the table went from %d to %d rows during the call; del must not change it", ErrChanged, n, t.rows)
		}
		if t.changeMark() != mark {
			// The rows staged so far may be gone (a Compact cuts the
			// room past the rows) or stale (a row changed since).
			return 0, fmt.Errorf("%w: DeleteFunc: the table was changed, synced or compacted during the call; del must not change it", ErrChanged)
		}
		if kept == 0 {
			continue
		}
		if err := t.stageGuarded(keep[:m], from, first, n+k, kept); err != nil {
			return 0, err
		}
		k += kept
		mark = t.changeMark()
	}
	if first < 0 {
		return 0, nil
	}
	if err := t.finishGuarded(first, k); err != nil {
		return 0, err
	}
	return n - first - k, nil
}

// changeMark is what DeleteFunc checks after each block of del's calls:
// any change of the table's rows in place (the readers' sequence count),
// of its commit (a Sync, a Compact) or of its room past the rows moves it.
func (t *core) changeMark() [3]uint64 {
	m := [3]uint64{t.seq, uint64(t.set.MinCap())}
	if t.readers != nil {
		m[2] = t.readers.load(rdSeq)
	}
	return m
}

// readGuarded, stageGuarded and finishGuarded are DeleteFunc's steps that
// touch the table's mappings, each under the guard.
func (t *Table[R]) readGuarded(buf []R, from int) (m int, err error) {
	defer t.guarded(debug.SetPanicOnFault(true), &err)
	return t.readRows(buf, from), nil
}

func (t *Table[R]) stageGuarded(keep []bool, from, first, at, kept int) (err error) {
	defer t.guarded(debug.SetPanicOnFault(true), &err)
	if err := t.reserveStage(at + kept); err != nil {
		return err
	}
	t.stageKept(keep, from, first, at)
	return nil
}

func (t *core) finishGuarded(first, k int) (err error) {
	defer t.guarded(debug.SetPanicOnFault(true), &err)
	t.finishDelete(opDeleteFunc, first, k)
	return nil
}

// stageKept copies the rows of the block at from that keep marks, and that
// lie at or after first, to the staging rows from at, in every column: one
// copy per run of kept rows.
func (t *core) stageKept(keep []bool, from, first, at int) {
	for _, c := range t.set.Columns() {
		crashpoint.Hit("table.delete.stage")
		to := at
		for j := 0; j < len(keep); {
			if !keep[j] || from+j < first {
				j++
				continue
			}
			run := j
			for j < len(keep) && keep[j] {
				j++
			}
			copy(rowcodec.Elems(c, to, j-run), rowcodec.Elems(c, from+run, j-run))
			to += j - run
		}
	}
}

// reserveStage makes room for rows [Len, need) to stage rows in; the rows
// and the length are unchanged, whatever happens.
func (t *Table[R]) reserveStage(need int) error {
	if need <= t.minCap {
		return nil
	}
	return t.grow(need)
}

// finishDelete runs steps 2 to 4 above once the k kept rows after the first
// removed row f are staged at Len.
func (t *core) finishDelete(op intentOp, f, k int) {
	n := t.rows
	t.beginInPlace()
	defer t.endOwnInPlace()
	t.journal.write(intent{op: op, commitSeq: t.seq, index: uint64(f), rowsBefore: uint64(n),
		kept: uint64(k), stagedCRC: stagedCRC(t.set.Columns(), n, k)})
	t.removedFrom(f)
	moveStaged(t.set.Columns(), f, n, k)
	t.publishFewer(f+k, "table.delete.publish")
	t.journal.clear()
}

// moveStaged copies the k rows staged at n to f in every column: step 3,
// and the redo of an interrupted delete.
func moveStaged(cols []*colset.Column, f, n, k int) {
	for _, c := range cols {
		copy(rowcodec.Elems(c, f, k), rowcodec.Elems(c, n, k))
		crashpoint.Hit("table.delete.moved")
	}
}

// stagedCRC is the CRC-32C of the k rows staged at n, column by column.
func stagedCRC(cols []*colset.Column, n, k int) uint32 {
	var sum uint32
	for _, c := range cols {
		sum = crc32.Update(sum, castagnoli, rowcodec.Elems(c, n, k))
	}
	return sum
}
