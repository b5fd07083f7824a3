package table

import (
	"fmt"
	"iter"
	"unsafe"
)

// Reading rows in bulk: column by column, each column's run of elements
// scattered into its field of every record with one strided copy, so that a
// scan of whole rows costs about what a scan of every column does.

// allBlockBytes bounds the buffer [Table.All] reads rows into: large enough
// that the per-block work is noise, small enough to stay in L1/L2 cache
// while the loop body reads it.
const allBlockBytes = 16 << 10

// ReadRows reads rows [from, from+len(dst)) into dst, clipped to [Table.Len],
// and returns how many it read: min(len(dst), Len-from). It reads column by
// column, with no reflection and no allocation; fields of R that are not
// stored are zeroed, as in [Table.Row]. A from outside [0, Len] is an
// [ErrRange] error (from == Len reads 0 rows), and after Close an
// [ErrClosed] one.
//
// To read a table in blocks:
//
//	buf := make([]R, 4096)
//	for from := 0; from < t.Len(); {
//		n, err := t.ReadRows(buf, from)
//		...use buf[:n]...
//		from += n
//	}
func (t *Table[R]) ReadRows(dst []R, from int) (int, error) {
	if err := t.check(false); err != nil {
		return 0, err
	}
	if t.untyped {
		return 0, fmt.Errorf("%w: ReadRows on a table opened as table.Any, which has no row type", ErrType)
	}
	if uint(from) > uint(t.rows) {
		return 0, fmt.Errorf("%w: ReadRows from %d with length %d", ErrRange, from, t.rows)
	}
	return t.readRows(dst, from), nil
}

// readRows is ReadRows without its checks: from lies in [0, rows].
func (t *Table[R]) readRows(dst []R, from int) int {
	dst = dst[:min(len(dst), t.rows-from)]
	if !t.codec.Covers() {
		clear(dst) // fields without a column, and padding, read as zero
	}
	t.codec.GetRows(from, dst)
	if t.vars != nil {
		for j := range dst {
			t.getVars(from+j, unsafe.Pointer(&dst[j]))
		}
	}
	return len(dst)
}

// All iterates over the rows present when it starts, in order, as (index,
// row) pairs. It reads blocks of rows column by column into one buffer
// allocated per loop (never per row), so it runs at about the speed of
// [Table.ReadRows].
//
// The loop body may change the table, with block-sized effects: rows are
// read a block at a time before they are yielded, so a row changed,
// removed or appended during the loop may or may not be seen. Before each
// block the end is clipped to the current Len, so the loop stops early when
// the table shrinks or is closed, and it never reads past the rows. Like
// [Table.Row], it panics on a table opened as [Any].
func (t *Table[R]) All() iter.Seq2[int, R] {
	return func(yield func(int, R) bool) {
		if t.untyped && !t.closed {
			panic("table: All on a table opened as table.Any")
		}
		end := t.rows
		if end == 0 {
			return
		}
		var zero R
		block := max(1, min(end, allBlockBytes/max(1, int(unsafe.Sizeof(zero)))))
		buf := make([]R, block)
		for from := 0; from < end; {
			end = min(end, t.rows) // shrunk or closed (Len 0) in the loop body
			if from >= end {
				return
			}
			n := t.readRows(buf[:min(block, end-from)], from)
			for j := range n {
				if !yield(from+j, buf[j]) {
					return
				}
			}
			from += n
		}
	}
}
