package mmap

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/mmapvec/persistence/internal/bootid"
	"github.com/mmapvec/persistence/internal/fsutil"
	"github.com/mmapvec/persistence/lockfile"
)

// Options configure [Open] and [OpenRaw]. nil means the zero value, and the
// zero value of every field is a sensible default.
type Options struct {
	// Tag is a user tag stored in the header (the seed crate's 8 magic
	// bytes); opening a file with another tag fails with [ErrTag].
	Tag [8]byte
	// DataVersion is the user's version of the element type; opening a file
	// with another one fails with [ErrDataVersion].
	DataVersion uint32
	// ReadOnly maps the file PROT_READ under a shared lock and never writes.
	// A missing file is then an error rather than created.
	ReadOnly bool
	// NoLock skips the flock on the file, for callers that lock elsewhere
	// (the table package locks its directory).
	NoLock bool
	// LockTimeout is how long to wait for a lock held elsewhere; 0 fails at once.
	LockTimeout time.Duration
	// ExternalCommit says that the caller commits lengths elsewhere (the
	// table package's COMMIT file): the file's own commit slots are not
	// used, and when the last writer ran in another boot the Raw opens with
	// length 0 and leaves its header alone until the caller decides the
	// length and calls [Raw.Adopt].
	ExternalCommit bool
}

// Recovery says how the length was chosen when the file was opened.
type Recovery struct {
	// Trusted is "live" when the last writer ran in this boot and its live
	// length was kept, or "committed" when only the last Sync counts.
	Trusted string
	// Length is the length the Vec opened with.
	Length int
	// Live and Committed are the two candidate lengths (Live is -1 when it
	// was not read).
	Live, Committed int
	// SlotFallback is set when one commit slot was damaged (a torn write)
	// and the other was used.
	SlotFallback bool
}

// Raw is the untyped core of a [Vec]: a column file of fixed-size elements,
// mapped at a stable address. Packages that handle many element types
// (column, table) use it directly; others use [Vec].
//
// A Raw is not safe for concurrent use; a slice taken from it may be read
// by other goroutines while it appends. (The table package publishes its
// row count atomically for concurrent readers.)
type Raw struct {
	path     string
	f        *os.File
	lock     *lockfile.Lock
	readOnly bool
	elemSize int
	layout   Layout

	// The file is mapped whole at base; growth maps it again, whole, at a
	// new place and keeps the earlier mappings (old) until Close, so slices
	// taken before a growth stay valid. MAP_SHARED views of one file share
	// its page-cache pages: a write through either is seen through both.
	base     unsafe.Pointer // page 0 of the current mapping
	data     atomic.Pointer[byte]
	mapped   int       // bytes mapped at base
	old      []mapping // earlier mappings, unmapped at Close
	fileSize int
	capacity int

	n    int     // the live length
	live *uint64 // the live length word in the mapped header

	slotSeq uint64
	slotIdx int // slot holding slotSeq

	external bool      // Options.ExternalCommit
	bootID   bootid.ID // as in the header
	poison   error
	closed   bool
	recovery Recovery
}

// OpenRaw opens or creates the column file at path for elements of the given
// layout.
func OpenRaw(path string, layout Layout, opts *Options) (*Raw, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if layout.Size <= 0 {
		return nil, fileErr(path, ErrUnsupportedType, "element size is %d; use a type of at least one byte", layout.Size)
	}
	h := header{tag: o.Tag, dataVersion: o.DataVersion, elemSize: uint32(layout.Size),
		elemAlign: uint32(layout.Align), fingerprint: layout.Fingerprint(), bootID: bootid.Current()}
	if !o.ReadOnly {
		if err := create(path, h); err != nil {
			return nil, err
		}
	}
	// Opening a FIFO read-only blocks until a writer comes: refuse anything
	// but a regular file before opening it (open checks again with fstat).
	if fi, err := os.Stat(path); err == nil && !fi.Mode().IsRegular() {
		return nil, fileErr(path, ErrCorrupt, "not a regular file (%s)", fi.Mode().Type())
	}
	flag := os.O_RDWR
	if o.ReadOnly {
		flag = os.O_RDONLY
	}
	f, err := os.OpenFile(path, flag, 0)
	if err != nil {
		return nil, err
	}
	r := &Raw{path: path, f: f, readOnly: o.ReadOnly, elemSize: layout.Size, layout: layout, external: o.ExternalCommit}
	if err := r.open(h, o); err != nil {
		_ = r.Close()
		return nil, err
	}
	return r, nil
}

// create makes the file if it does not exist, atomically: a complete file is
// written under a temporary name and linked into place, so no reader ever
// sees a half-written header, and of two racing creators one wins.
func create(path string, h header) error {
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
	return fsutil.SyncDir(dir)
}

func (r *Raw) open(want header, o Options) error {
	if !o.NoLock {
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
	if !fi.Mode().IsRegular() {
		return fileErr(r.path, ErrCorrupt, "not a regular file (%s)", fi.Mode().Type())
	}
	size := fi.Size()
	if size < headerSize {
		return fileErr(r.path, ErrTruncated, "file is %d bytes, the header alone is %d", size, headerSize)
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
		return fileErr(r.path, ErrTag, "file has tag %q, opened with %q", h.tag[:], want.tag[:])
	}
	if h.dataVersion != want.dataVersion {
		return fileErr(r.path, ErrDataVersion, "file has data version %d, opened with %d; migrate the data or open with its version", h.dataVersion, want.dataVersion)
	}
	if h.elemSize != want.elemSize || h.elemAlign != want.elemAlign || h.fingerprint != want.fingerprint {
		return fileErr(r.path, ErrElemType,
			"file holds %d-byte elements (align %d, layout %016x), opened as %d-byte %s (align %d, layout %016x)",
			h.elemSize, h.elemAlign, h.fingerprint, want.elemSize, r.layout, want.elemAlign, want.fingerprint)
	}
	if size > int64(^uint(0)>>1) {
		return fileErr(r.path, ErrTooLarge, "file of %d bytes does not fit this machine's address space", size)
	}
	r.fileSize = int(size)
	// A partial element at the end is spare capacity, not corruption:
	// growth that stops part way (zero-writing without fallocate, or ext4's
	// stepwise fallocate cut by a crash) leaves one. Lengths are checked
	// against whole elements only.
	r.capacity = int(min((size-headerSize)/int64(r.elemSize), maxLen))

	if err := r.chooseLength(page, h); err != nil {
		return err
	}
	if err := r.mapWhole(); err != nil {
		return err
	}
	r.bootID = h.bootID
	if !r.readOnly && !r.external && !bootid.Same(h.bootID, want.bootID) {
		return r.Adopt(r.Len())
	}
	return nil
}

// Path returns the file's path.
func (r *Raw) Path() string { return r.path }

// ElemSize returns the size of one element in bytes.
func (r *Raw) ElemSize() int { return r.elemSize }

// Layout returns the element layout the file was opened with.
func (r *Raw) Layout() Layout { return r.layout }

// Len returns the number of elements.
func (r *Raw) Len() int { return r.n }

// Cap returns how many elements fit before the file must grow.
func (r *Raw) Cap() int { return r.capacity }

// ReadOnly reports whether the file was opened read-only.
func (r *Raw) ReadOnly() bool { return r.readOnly }

// Recovery says how the length was chosen at open.
func (r *Raw) Recovery() Recovery { return r.recovery }

// Data returns a pointer to element 0 of the current mapping, which covers
// Cap elements. Growth maps the file at a new place: a pointer taken before
// stays valid until [Raw.Close] for the elements below the Cap of its time,
// and shows every write made through any later pointer (one page cache).
// Data may be called from other goroutines while one grows the file; it is
// nil after Close.
func (r *Raw) Data() unsafe.Pointer { return unsafe.Pointer(r.data.Load()) }

// Bytes returns the bytes of elements [0, Len) as a live view.
func (r *Raw) Bytes() []byte {
	if r.base == nil || r.Len() == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(r.Data()), r.Len()*r.elemSize)
}

// check is called by every operation that touches the file.
func (r *Raw) check(write bool) error {
	switch {
	case r.closed:
		return ErrClosed
	case r.poison != nil:
		return r.poison
	case write && r.readOnly:
		return fileErr(r.path, ErrReadOnly, "opened with Options.ReadOnly")
	}
	return nil
}

// WriteAt writes b, a whole number of elements, at element index at with
// pwrite(2) rather than through the mapping; the mapping sees it at once
// (one page cache). For large writes this skips a page fault per page.
// The elements must lie below Cap; the length is not changed.
func (r *Raw) WriteAt(b []byte, at int) error {
	if err := r.check(true); err != nil {
		return err
	}
	if len(b)%r.elemSize != 0 || at < 0 || at+len(b)/r.elemSize > r.capacity {
		return fmt.Errorf("mmap: %s: WriteAt of %d bytes at element %d: outside the capacity %d", r.path, len(b), at, r.capacity)
	}
	if _, err := r.f.WriteAt(b, int64(headerSize+at*r.elemSize)); err != nil {
		return err
	}
	return nil
}

// Close unmaps, unlocks and closes the file. It does not sync. It is
// idempotent; slices from the Raw must not be used after it.
func (r *Raw) Close() error {
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
