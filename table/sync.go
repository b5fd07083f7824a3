package table

import (
	"errors"
	"fmt"
	"sync"

	"github.com/mmapvec/persistence/internal/crashpoint"
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
	crashpoint.Hit("table.sync.flush")
	if err := t.flushColumns(); err != nil {
		return t.fail(err)
	}
	crashpoint.Hit("table.sync.commit")
	lengths := make([]uint64, len(t.cols))
	for i := range lengths {
		lengths[i] = uint64(t.rows)
	}
	idx := 1 - t.slotIdx
	s := commitSlot{seq: t.seq + 1, rows: uint64(t.rows), hash: t.hash, lengths: lengths}
	if _, err := t.commit.WriteAt(encodeCommit(idx, s), int64(idx*slotBytes(len(t.cols)))); err != nil {
		return t.fail(err)
	}
	crashpoint.Hit("table.sync.commit.written")
	if err := fdatasync(t.commit); err != nil {
		return t.fail(err)
	}
	crashpoint.Hit("table.sync.done")
	t.seq, t.slotIdx = s.seq, idx
	return nil
}

func (t *Table[R]) fail(err error) error {
	t.poison = fmt.Errorf("%w: %s: %w", ErrPoisoned, t.dir, err)
	return t.poison
}

// flushColumns is the data barrier: every column's dirty pages reach the
// disk. The columns are flushed in parallel, so the device sees their
// writes together and the file system can share one journal commit.
func (t *Table[R]) flushColumns() error {
	if len(t.cols) == 1 {
		return t.cols[0].Raw().Flush()
	}
	errs := make([]error, len(t.cols))
	var wg sync.WaitGroup
	for i, c := range t.cols {
		wg.Go(func() { errs[i] = c.Raw().Flush() })
	}
	wg.Wait()
	return errors.Join(errs...)
}
