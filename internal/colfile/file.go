//go:build unix

package colfile

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/mmapvec/persistence/internal/bootid"
	"github.com/mmapvec/persistence/internal/errs"
	"github.com/mmapvec/persistence/internal/fsutil"
	"github.com/mmapvec/persistence/internal/layout"
	"github.com/mmapvec/persistence/lockfile"
)

// Options configure [Open]. nil means the zero value.
type Options struct {
	// Tag is a user tag stored in the header; opening a file with another
	// tag fails with [errs.ErrTag].
	Tag [8]byte
	// DataVersion is the user's version of the element type; opening a file
	// with another one fails with [errs.ErrDataVersion].
	DataVersion uint32
	// ReadOnly maps the file PROT_READ and never writes.
	ReadOnly bool
	// Create makes the file when it is missing (not with ReadOnly); without
	// it a missing file is an error (fs.ErrNotExist).
	Create bool
	// Lock takes a flock on the file itself: exclusive, or shared when
	// ReadOnly. A table locks its directory instead.
	Lock bool
	// LockTimeout is how long to wait for a lock held elsewhere; 0 fails at once.
	LockTimeout time.Duration
	// NoDirSync skips the fsync of the directory after a new file is
	// linked into it, for a caller that fsyncs the directory itself before
	// anything depends on the file (a table built aside).
	NoDirSync bool
}

// Facts are what a column file says about its length when it is opened.
// The file decides nothing: its owner (a Vec, a table) chooses the length
// from them, in one place, and sets it with [File.SetLen].
type Facts struct {
	// Live is the live length: a plain store into the mapped header per
	// append, which survives a crash of the process but not of the OS.
	// LiveOK is false when the word fails its check bits (Live is then 0).
	Live   int
	LiveOK bool
	// Committed is the length in the newer valid commit slot of the file's
	// own two (a standalone Vec's Sync writes them; a table keeps its
	// commit elsewhere). SlotFallback is set when the other slot was torn
	// or damaged.
	Committed    int
	SlotFallback bool
	// SameBoot reports that the file's last writer ran in this boot of the
	// kernel, so every store it made is still in the page cache. An unknown
	// boot is never the same.
	SameBoot bool
}

// File is one column file of fixed-size elements: the header page, then the
// elements, mapped whole (see [File.Data]). It opens with length 0; its
// owner sets the length it decided from [File.Facts].
//
// A File is not safe for concurrent use, except that [File.Data] may be
// called from any goroutine: a slice taken from it may be read by other
// goroutines while one appends.
type File struct {
	path     string
	f        *os.File
	lock     *lockfile.Lock
	readOnly bool
	elemSize int
	layout   layout.Layout

	// The file is mapped whole at base; growth maps it again, whole, at a
	// new place and keeps the earlier mappings (old) until Close, so slices
	// taken before a growth stay valid. MAP_SHARED views of one file share
	// its page-cache pages: a write through either is seen through both.
	base     unsafe.Pointer // page 0 of the current mapping
	data     atomic.Pointer[byte]
	dataLen  atomic.Int64    // bytes from data that the mapping covers; see Mapped
	touched  unsafe.Pointer  // the data pointer Touch last saw (Touch's own)
	mapped   int             // bytes mapped at base
	old      []mapping       // earlier mappings, unmapped at Close
	ro       readOnlyMapping // the read-only views' mapping (MapReadOnly)
	fileSize int
	capacity int

	n    int     // the length
	live *uint64 // the live length word in the mapped header

	slotSeq uint64
	slotIdx int // slot holding slotSeq

	bootID bootid.ID // as in the header
	facts  Facts
	poison error
	closed bool
}

// Open opens or creates the column file at path for elements of the given
// layout, and checks its header against what the caller expects.
func Open(path string, layout layout.Layout, opts *Options) (*File, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if layout.Size <= 0 {
		return nil, errs.File(path, errs.ErrType, "element size is %d; use a type of at least one byte", layout.Size)
	}
	if uint64(layout.Size) > math.MaxUint32 {
		// The header's field is 32 bits: a larger size would be recorded wrapped.
		return nil, errs.File(path, errs.ErrTooLarge, "element size is %d bytes; a column file's elements are at most %d", layout.Size, uint32(math.MaxUint32))
	}
	h := header{tag: o.Tag, dataVersion: o.DataVersion, elemSize: uint32(layout.Size),
		elemAlign: uint32(layout.Align), fingerprint: layout.Fingerprint(), bootID: bootid.Current()}
	if o.Create && !o.ReadOnly {
		if err := create(path, h, !o.NoDirSync); err != nil {
			return nil, err
		}
	}
	flag := os.O_RDWR
	if o.ReadOnly {
		flag = os.O_RDONLY
	}
	// Never a symlink, FIFO or device: a FIFO would block the open, and a
	// link could lead writes outside the table.
	f, _, err := openRegular(path, flag)
	if err != nil {
		return nil, err
	}
	r := &File{path: path, f: f, readOnly: o.ReadOnly, elemSize: layout.Size, layout: layout}
	if err := r.open(h, o); err != nil {
		_ = r.Close()
		return nil, err
	}
	return r, nil
}

// create makes the file if it does not exist, atomically: a complete file is
// written under a temporary name and linked into place, so no reader ever
// sees a half-written header, and of two racing creators one wins.
func create(path string, h header, syncDir bool) error {
	if _, err := os.Lstat(path); err == nil || !errors.Is(err, os.ErrNotExist) {
		return nil // exists (or stat failed: let the open report it)
	}
	dir := filepath.Dir(path)
	tmp, err := fsutil.WriteTemp(dir, "."+filepath.Base(path)+".tmp*", newHeaderPage(h))
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil
		}
		return err
	}
	if !syncDir {
		return nil
	}
	return fsutil.SyncDir(dir)
}

func (r *File) open(want header, o Options) error {
	if o.Lock {
		l, err := lockfile.LockFile(r.f, &lockfile.Options{Shared: o.ReadOnly, Timeout: o.LockTimeout})
		if err != nil {
			return err
		}
		r.lock = l
	}
	fi, err := r.f.Stat()
	if err != nil {
		return err
	}
	size := fi.Size()
	if size < headerSize {
		return errs.File(r.path, errs.ErrTruncated, "file is %d bytes, the header alone is %d", size, headerSize)
	}
	// Validate with pread before mapping: a bad file must never reach a fault.
	page := make([]byte, headerSize)
	if _, err := r.f.ReadAt(page, 0); err != nil {
		return &os.PathError{Op: "read header", Path: r.path, Err: err}
	}
	h, err := decodeHeader(r.path, page)
	if err != nil {
		return err
	}
	if h.tag != want.tag {
		return errs.File(r.path, errs.ErrTag, "file has tag %q, opened with %q", h.tag[:], want.tag[:])
	}
	if h.dataVersion != want.dataVersion {
		return errs.File(r.path, errs.ErrDataVersion, "file has data version %d, opened with %d; migrate the data or open with its version", h.dataVersion, want.dataVersion)
	}
	if h.elemSize != want.elemSize || h.elemAlign != want.elemAlign || h.fingerprint != want.fingerprint {
		return errs.File(r.path, errs.ErrElemType,
			"file holds %d-byte elements (align %d, layout %016x), opened as %d-byte %s (align %d, layout %016x)",
			h.elemSize, h.elemAlign, h.fingerprint, want.elemSize, r.layout, want.elemAlign, want.fingerprint)
	}
	if size > int64(^uint(0)>>1) {
		return errs.File(r.path, errs.ErrTooLarge, "file of %d bytes does not fit this machine's address space", size)
	}
	r.fileSize = int(size)
	// A partial element at the end is spare capacity, not corruption:
	// growth that stops part way (zero-writing without fallocate, or ext4's
	// stepwise fallocate cut by a crash) leaves one. Lengths are checked
	// against whole elements only.
	r.capacity = int(min((size-headerSize)/int64(r.elemSize), maxLen))

	if err := r.readFacts(page, h); err != nil {
		return err
	}
	r.bootID = h.bootID
	return r.mapWhole()
}

// Path returns the file's path.
func (r *File) Path() string { return r.path }

// ElemSize returns the size of one element in bytes.
func (r *File) ElemSize() int { return r.elemSize }

// Layout returns the element layout the file was opened with.
func (r *File) Layout() layout.Layout { return r.layout }

// Len returns the number of elements.
func (r *File) Len() int { return r.n }

// Cap returns how many elements fit before the file must grow.
func (r *File) Cap() int { return r.capacity }

// ReadOnly reports whether the file was opened read-only.
func (r *File) ReadOnly() bool { return r.readOnly }

// Facts returns what the file said about its length when it was opened.
func (r *File) Facts() Facts { return r.facts }

// Data returns a pointer to element 0 of the current mapping, which covers
// Cap elements. Growth maps the file at a new place: a pointer taken before
// stays valid until [File.Close] for the elements below the Cap of its time,
// and shows every write made through any later pointer (one page cache).
// Data may be called from other goroutines while one grows the file; it is
// nil after Close.
func (r *File) Data() unsafe.Pointer { return unsafe.Pointer(r.data.Load()) }

// Mapped returns [File.Data] and how many bytes from it the mapping
// covers, for readers in other goroutines that bound their reads by it:
// the length is loaded first and stored last, so the pointer loaded after
// it covers at least that many bytes. nil and 0 after Close.
func (r *File) Mapped() (unsafe.Pointer, int) {
	n := r.dataLen.Load()
	p := r.data.Load()
	if p == nil {
		return nil, 0
	}
	return unsafe.Pointer(p), int(n)
}

// Check returns the error of an operation on the file now: closed,
// poisoned by a failed sync, or (write) read-only; nil if it may proceed.
func (r *File) Check(write bool) error {
	switch {
	case r.closed:
		return errs.ErrClosed
	case r.poison != nil:
		return r.poison
	case write && r.readOnly:
		return errs.File(r.path, errs.ErrReadOnly, "opened with Options.ReadOnly")
	}
	return nil
}

// WriteAt writes b, a whole number of elements, at element index at with
// pwrite(2) rather than through the mapping; the mapping sees it at once
// (one page cache). For large writes this skips a page fault per page.
// The elements must lie below Cap; the length is not changed.
func (r *File) WriteAt(b []byte, at int) error {
	if err := r.Check(true); err != nil {
		return err
	}
	if len(b)%r.elemSize != 0 || at < 0 || at+len(b)/r.elemSize > r.capacity {
		return fmt.Errorf("colfile: %s: WriteAt of %d bytes at element %d: outside the capacity %d", r.path, len(b), at, r.capacity)
	}
	if _, err := r.f.WriteAt(b, int64(headerSize+at*r.elemSize)); err != nil {
		return err
	}
	return nil
}

// Close unmaps, unlocks and closes the file. It does not sync. It is
// idempotent; slices from the File must not be used after it.
func (r *File) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	r.n = 0 // slices taken from now on are empty
	var errs []error
	errs = append(errs, r.unmapAll())
	if r.lock != nil {
		errs = append(errs, r.lock.Release())
	}
	if r.f != nil {
		errs = append(errs, r.f.Close())
	}
	return errors.Join(errs...)
}
