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

// flushColumns is the data barrier: every column's dirty pages reach the
// disk. Columns whose data lies in blocks already made durable are written
// back with sync_file_range and share one device cache flush; the others
// (grown, or written into fresh fallocated blocks) get a full fdatasync. The
// full flushes run in parallel goroutines, so the file system can serve them
// with one journal commit.
func (t *Table[R]) flushColumns() error {
	full, cheap := t.full[:0], t.cheap[:0]
	for _, r := range t.raws {
		if r.NeedsFlush() {
			full = append(full, r)
		} else {
			cheap = append(cheap, r)
		}
	}
	t.full, t.cheap = full, cheap
	var errs []error
	if len(full) > 0 {
		// The goroutines own fullErrs; errs grows only on this goroutine.
		fullErrs := make([]error, len(full))
		var wg sync.WaitGroup
		for i, r := range full[1:] {
			wg.Go(func() { fullErrs[i+1] = r.Flush() })
		}
		for _, r := range cheap {
			errs = append(errs, r.WriteBack())
		}
		fullErrs[0] = full[0].Flush() // this goroutine takes one itself
		for _, r := range cheap {
			errs = append(errs, r.WaitWriteBack())
		}
		wg.Wait()
		errs = append(errs, fullErrs...)
	} else {
		for _, r := range cheap {
			if err := r.WriteBack(); err != nil {
				return err
			}
		}
		for _, r := range cheap {
			if err := r.WaitWriteBack(); err != nil {
				return err
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if len(cheap) > 0 {
		// The written-back pages sit in the device's volatile cache until a
		// flush; the commit record must not reach the disk before they do.
		crashpoint.Hit("table.sync.flushdevice")
		return cheap[0].FlushDevice()
	}
	return nil
}
