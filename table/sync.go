package table

import (
	"fmt"

	"github.com/mmapvec/persistence/internal/crashpoint"
	"github.com/mmapvec/persistence/internal/fsutil"
)

// Sync commits the table: every row is durable against an OS crash or
// power loss once it returns nil. It flushes every column (in parallel),
// then writes the next COMMIT slot and fdatasyncs it: data before commit.
//
// If Sync fails, nothing since the last successful Sync is durable and the
// table is poisoned: every later call returns [ErrPoisoned] until it is
// closed and reopened. The flush is never retried, because after a failed
// fsync the kernel may already have dropped the dirty pages.
func (t *Table[R]) Sync() error {
	if err := t.check(true); err != nil {
		return err
	}
	return t.sync()
}

func (t *Table[R]) sync() error {
	crashpoint.Hit("table.sync.flush")
	if err := t.set.Flush(); err != nil {
		return t.fail(err)
	}
	crashpoint.Hit("table.sync.commit")
	ncols := len(t.set.Columns())
	if t.lengths == nil {
		t.lengths = make([]uint64, ncols+len(t.vars))
	}
	for i := range ncols {
		t.lengths[i] = uint64(t.rows)
	}
	for i := range t.vars {
		t.lengths[ncols+i] = uint64(t.vars[i].extent())
	}
	idx := 1 - t.slotIdx
	s := commitSlot{seq: t.seq + 1, rows: uint64(t.rows), hash: t.hash, lengths: t.lengths}
	t.slotBuf = encodeCommitInto(t.slotBuf, idx, s)
	if _, err := t.commit.WriteAt(t.slotBuf, int64(idx*slotBytes(len(t.lengths)))); err != nil {
		return t.fail(err)
	}
	crashpoint.Hit("table.sync.commit.written")
	if err := fsutil.DataSync(t.commit); err != nil {
		return t.fail(err)
	}
	crashpoint.Hit("table.sync.done")
	t.seq, t.slotIdx = s.seq, idx
	t.readers.synced(t.rows)
	return nil
}

func (t *Table[R]) fail(err error) error {
	t.poison = fmt.Errorf("%w: %s: %w", ErrPoisoned, t.dir, err)
	t.minCap = 0 // appends take the checked path, which returns the poison
	return t.poison
}
