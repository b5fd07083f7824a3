//go:build unix

package colfile

import (
	"os"

	"github.com/mmapvec/persistence/internal/crashpoint"
	"github.com/mmapvec/persistence/internal/errs"
)

// pageSize is the mapping granularity: file offsets of mappings are
// multiples of it. The format's own header page is 4096 bytes, which every
// page size divides or equals a multiple of.
var pageSize = uintptr(os.Getpagesize())

// minGrowBytes is the smallest growth step: one page, so that a small
// table takes little more than its rows; growth doubles from there, so an
// append-only file grows O(log n) times.
const minGrowBytes = 4096

// growTo makes room for at least need elements: allocate the blocks, then
// map the whole file again at a new place (see [File.Data]).
func (r *File) growTo(need int) error {
	if need <= r.capacity {
		return nil
	}
	if need > maxLen {
		return errs.File(r.path, errs.ErrTooLarge, "%d elements is past the format's limit of %d", need, maxLen)
	}
	es := r.elemSize
	// The most elements whose bytes fit half the address space, found by
	// division: need*es may wrap past 2^63 for large elements.
	fits := (int(^uint(0)>>1)/2 - headerSize) / es
	if need > fits {
		return errs.File(r.path, errs.ErrTooLarge, "%d elements of %d bytes do not fit this machine's address space", need, es)
	}
	newCap := min(max(need, 2*r.capacity, minGrowBytes/es), maxLen, fits)
	oldSize := int64(r.fileSize)
	newSize := int64(headerSize) + int64(newCap)*int64(es)
	crashpoint.Hit("vec.grow.allocate")
	if err := allocate(r.f, oldSize, newSize-oldSize); err != nil {
		// Leave the file as it was: a partly allocated tail is not ours.
		_ = r.f.Truncate(oldSize)
		return err
	}
	crashpoint.Hit("vec.grow.map")
	r.fileSize = int(newSize)
	if err := r.mapWhole(); err != nil {
		r.fileSize = int(oldSize)
		_ = r.f.Truncate(oldSize)
		return err
	}
	r.capacity = newCap
	return nil
}

// EnsureCap makes room for at least need elements, allocating their disk
// blocks now: a full disk is an error here, never a SIGBUS later. Growth
// maps the file at a new place: reload [File.Data] after it.
func (r *File) EnsureCap(need int) error {
	if err := r.Check(true); err != nil {
		return err
	}
	if need < 0 || need > maxLen {
		return errs.File(r.path, errs.ErrTooLarge, "%d elements is outside the format's limit of %d", need, maxLen)
	}
	return r.growTo(need)
}

// Follow takes in growth made through another descriptor since the file
// was mapped (by the writer of a file opened read-only, say): a larger file
// is mapped again, whole, at a new place, and the earlier mappings stay until Close, as after [File.EnsureCap]
// (so slices taken before stay valid). A file that is not larger changes
// nothing: a reader never maps less than it did. It reports whether the
// mapping moved (reload [File.Data] then).
func (r *File) Follow() (bool, error) {
	if r.closed {
		return false, errs.ErrClosed
	}
	fi, err := r.f.Stat()
	if err != nil {
		return false, err
	}
	size := fi.Size()
	if size > int64(^uint(0)>>1)/2 {
		return false, errs.File(r.path, errs.ErrTooLarge, "file of %d bytes does not fit this machine's address space", size)
	}
	if size <= int64(r.fileSize) {
		return false, nil
	}
	crashpoint.Hit("vec.follow.map")
	old := r.fileSize
	r.fileSize = int(size)
	if err := r.mapWhole(); err != nil {
		r.fileSize = old
		return false, err
	}
	r.capacity = int(min((size-headerSize)/int64(r.elemSize), maxLen))
	return true, nil
}
