package table

import (
	"errors"
	"fmt"
	"hash/crc32"
	"sync"

	"github.com/mmapvec/persistence/internal/crashpoint"
)

// Sync commits the table: every row is durable against an OS crash or
// power loss once it returns nil.
//
// In the common case (no column grew, and every row lies in disk blocks an
// earlier Sync made durable) it costs one device cache flush: the columns'
// dirty pages are written back with sync_file_range, and the commit record,
// which carries a CRC-32C of each column's rows appended since the last
// commit, is written and fdatasynced in the same flush. After a reboot such a
// commit counts only if those rows match their checksums; otherwise the
// table opens as of the Sync before. When a column grew, or its new rows lie
// in freshly allocated blocks (whose first write changes file system
// metadata), the columns are fdatasynced first and the commit follows:
// data before commit, two flushes.
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
	oneFlush, err := t.flushColumns()
	if err != nil {
		return t.fail(err)
	}
	crashpoint.Hit("table.sync.commit")
	s := commitSlot{rows: uint64(t.rows), verify: oneFlush}
	if oneFlush {
		from := min(t.committed, t.rows)
		if t.crcs == nil {
			t.crcs = make([]uint32, len(t.raws))
		}
		for i, r := range t.raws {
			t.crcs[i] = crc32.Checksum(r.Elems(from, t.rows), castagnoli)
		}
		s.from, s.crcs = uint64(from), t.crcs
	}
	if err := t.writeSlot(s); err != nil {
		return t.fail(err)
	}
	crashpoint.Hit("table.sync.done")
	return nil
}

// writeSlot writes s as the next commit (seq and lengths filled in) into the
// slot not holding the current one, and fdatasyncs COMMIT.
func (t *Table[R]) writeSlot(s commitSlot) error {
	if t.lengths == nil {
		t.lengths = make([]uint64, len(t.cols))
	}
	for i := range t.lengths {
		t.lengths[i] = s.rows
	}
	idx := 1 - t.slotIdx
	s.seq, s.hash, s.lengths = t.seq+1, t.hash, t.lengths
	t.slotBuf = encodeCommitInto(t.slotBuf, idx, s)
	if _, err := t.commit.WriteAt(t.slotBuf, int64(idx*slotBytes(len(t.cols)))); err != nil {
		return err
	}
	crashpoint.Hit("table.sync.commit.written")
	if err := fdatasync(t.commit); err != nil {
		return err
	}
	t.seq, t.slotIdx, t.committed = s.seq, idx, int(s.rows)
	return nil
}

func (t *Table[R]) fail(err error) error {
	t.poison = fmt.Errorf("%w: %s: %w", ErrPoisoned, t.dir, err)
	return t.poison
}

// flushColumns writes every column's dirty pages to the disk. When every
// column's rows lie in blocks made durable before, sync_file_range writes
// them back without a device flush and oneFlush is true: the commit's own
// fdatasync will flush them, and its checksums tell after a reboot whether
// they made it. Otherwise the columns that need it get a full fdatasync
// (in parallel goroutines, so the file system can serve them with one
// journal commit), the others a write-back and one device flush, and the
// data is durable when flushColumns returns.
func (t *Table[R]) flushColumns() (oneFlush bool, err error) {
	full, cheap := t.full[:0], t.cheap[:0]
	for _, r := range t.raws {
		if r.NeedsFlush() {
			full = append(full, r)
		} else {
			cheap = append(cheap, r)
		}
	}
	t.full, t.cheap = full, cheap
	if len(full) == 0 {
		for _, r := range cheap {
			if err := r.WriteBack(); err != nil {
				return false, err
			}
		}
		for _, r := range cheap {
			if err := r.WaitWriteBack(); err != nil {
				return false, err
			}
		}
		return true, nil
	}
	errs := make([]error, len(full))
	var wg sync.WaitGroup
	for i, r := range full[1:] {
		wg.Go(func() { errs[i+1] = r.Flush() })
	}
	for _, r := range cheap {
		errs = append(errs, r.WriteBack())
	}
	errs[0] = full[0].Flush() // this goroutine takes one itself
	for _, r := range cheap {
		errs = append(errs, r.WaitWriteBack())
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return false, err
	}
	if len(cheap) > 0 {
		// The written-back pages sit in the device's volatile cache until a
		// flush; the commit record must not reach the disk before they do.
		crashpoint.Hit("table.sync.flushdevice")
		return false, cheap[0].FlushDevice()
	}
	return false, nil
}
