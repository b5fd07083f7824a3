//go:build unix

package colfile

import (
	"fmt"

	"github.com/mmapvec/persistence/internal/crashpoint"
	"github.com/mmapvec/persistence/internal/errs"
)

// Flush is the data barrier: it makes every element durable, including
// writes made through slices, with fdatasync(2), the one call that promises
// durability of a file's data and of the metadata needed to read it back on
// every file system (on copy-on-write ones, ext4 data=journal, XFS reflinks,
// an overwrite moves the block, and only an fsync of this very file logs the
// new block pointers). The kernel writes back only the pages dirtied since
// the last flush, so its cost follows what was written, not the file's size.
// It does not commit the length: [File.Sync] does, and a table writes its own
// commit record after flushing all its columns. A failure poisons the File.
func (r *File) Flush() error {
	if err := r.Check(true); err != nil {
		return err
	}
	crashpoint.Hit("vec.flush")
	return r.poisonOn(dataSync(r.f))
}

// poisonOn poisons the File with err, if any: a failed fsync is never
// retried, because the kernel may already have dropped the pages it could
// not write, and a retry that succeeds would claim them durable.
func (r *File) poisonOn(err error) error {
	if err != nil {
		r.poison = fmt.Errorf("mmap: %s: %w: %w", r.path, errs.ErrPoisoned, err)
		return r.poison
	}
	return nil
}

// Sync makes every element below Len durable and then commits Len in the
// next commit slot (pwrite + fdatasync), so that it survives an OS crash or
// power loss. After an error the File is poisoned: every later call returns
// [errs.ErrPoisoned] until it is closed and reopened.
func (r *File) Sync() error {
	if err := r.Flush(); err != nil {
		return err
	}
	idx := 1 - r.slotIdx
	s := slot{seq: r.slotSeq + 1, length: uint64(r.Len())}
	crashpoint.Hit("vec.sync.slot")
	_, err := r.f.WriteAt(encodeSlot(idx, s), int64(slotOffset(idx)))
	if err == nil {
		crashpoint.Hit("vec.sync.slot.written")
		err = dataSync(r.f)
	}
	if err := r.poisonOn(err); err != nil {
		return err
	}
	crashpoint.Hit("vec.sync.done")
	r.slotIdx, r.slotSeq = idx, s.seq
	return nil
}
