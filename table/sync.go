package table

import (
	"errors"
	"fmt"
	"sync"

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
	if err := t.flushColumns(); err != nil {
		return t.fail(err)
	}
	crashpoint.Hit("table.sync.commit")
	if t.lengths == nil {
		t.lengths = make([]uint64, len(t.cols))
	}
	for i := range t.lengths {
		t.lengths[i] = uint64(t.rows)
	}
	idx := 1 - t.slotIdx
	s := commitSlot{seq: t.seq + 1, rows: uint64(t.rows), hash: t.hash, lengths: t.lengths}
	t.slotBuf = encodeCommitInto(t.slotBuf, idx, s)
	if _, err := t.commit.WriteAt(t.slotBuf, int64(idx*slotBytes(len(t.cols)))); err != nil {
		return t.fail(err)
	}
	crashpoint.Hit("table.sync.commit.written")
	if err := fsutil.DataSync(t.commit); err != nil {
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

// flushColumns is the data barrier: every column is fdatasync'ed, in
// parallel goroutines so that the file system can serve them with one
// journal commit. Each file whose data a commit depends on needs its own
// fdatasync: a write-back of the others plus one shared device flush is
// not durable on copy-on-write file systems (btrfs, XFS reflinked extents),
// where only the synced file gets its new block pointers logged.
func (t *Table[R]) flushColumns() error {
	if t.flushErrs == nil {
		t.flushErrs = make([]error, len(t.raws))
	}
	errs := t.flushErrs
	var wg sync.WaitGroup
	for i, r := range t.raws[1:] {
		wg.Go(func() { errs[i+1] = r.Flush() })
	}
	errs[0] = t.raws[0].Flush() // this goroutine takes one itself
	wg.Wait()
	return errors.Join(errs...)
}
