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
	"github.com/mmapvec/persistence/internal/crashpoint"
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
	// Reserve is the address space, in bytes, reserved for the file's
	// mapping; the file cannot grow past it. 0 means [DefaultReserve] (or the
	// file's size, if larger; or PERSIST_RESERVE, see DefaultReserve). It
	// costs no memory.
	Reserve int
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

	resBase  unsafe.Pointer // the reservation
	resSize  int
	base     unsafe.Pointer // page 0 of the file, inside the reservation
	reserved int            // bytes of the reservation from base on
	mapped   int            // bytes of the file mapped at base
	fileSize int
	capacity int

	n    int     // the live length
	live *uint64 // the live length word in the mapped header

	grown bool // file size changed since the last sync
	// durableEnd: file bytes [0, durableEnd) lie in allocated blocks that a
	// full flush has made durable (written, not "unwritten" extents).
	durableEnd int
	slotSeq    uint64
	slotIdx    int // slot holding slotSeq

	external bool     // Options.ExternalCommit
	bootID   [16]byte // as in the header
	poison   error
	closed   bool
	recovery Recovery
}

// staggerNext counts mappings, to stagger their addresses (see mapFile).
var staggerNext atomic.Uint64

const staggerSlots = 512

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
	if o.Reserve < 0 {
		return nil, fmt.Errorf("mmap: %s: negative Options.Reserve %d", path, o.Reserve)
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
	body := size - headerSize
	if body%int64(r.elemSize) != 0 {
		return fileErr(r.path, ErrBodySize, "%d bytes after the header is not a multiple of the %d-byte element", body, r.elemSize)
	}
	if size > int64(^uint(0)>>1) {
		return fileErr(r.path, ErrTooLarge, "file of %d bytes does not fit this machine's address space", size)
	}
	r.fileSize = int(size)
	r.capacity = int(body / int64(r.elemSize))

	if err := r.chooseLength(page, h); err != nil {
		return err
	}
	if err := r.mapFile(o.Reserve); err != nil {
		return err
	}
	r.live = (*uint64)(unsafe.Add(r.base, offLive))
	r.bootID = h.bootID
	if !r.readOnly && !r.external && h.bootID != want.bootID {
		return r.Adopt(r.Len())
	}
	return nil
}

// Adopt makes this boot's writer the owner of the file's length: it sets
// the length to n (at most Cap) and then records the running boot's id in
// the header. In that order, a crash between the two still trusts only the
// committed length on the next open. [OpenRaw] adopts by itself unless
// [Options.ExternalCommit] is set.
func (r *Raw) Adopt(n int) error {
	if err := r.check(true); err != nil {
		return err
	}
	if n < 0 || n > r.capacity {
		return fileErr(r.path, ErrLengthBeyondFile, "length %d, the file holds %d elements", n, r.capacity)
	}
	r.SetLen(n)
	boot := bootid.Current()
	if r.bootID == boot {
		return nil
	}
	crashpoint.Hit("vec.adopt.bootid")
	if _, err := r.f.WriteAt(boot[:], offBootID); err != nil {
		return &os.PathError{Op: "write header", Path: r.path, Err: err}
	}
	r.bootID = boot
	return nil
}

// chooseLength decides which length to trust: the live one if the last
// writer ran in this boot, the committed one otherwise.
func (r *Raw) chooseLength(page []byte, h header) error {
	s0, ok0 := decodeSlot(0, page[offSlot0:])
	s1, ok1 := decodeSlot(1, page[offSlot1:])
	switch {
	case !ok0 && !ok1:
		return fileErr(r.path, ErrChecksum, "both commit slots fail their CRC")
	case ok0 && (!ok1 || s0.seq > s1.seq):
		r.slotSeq, r.slotIdx = s0.seq, 0
		r.recovery.Committed = int(min(s0.length, maxLen+1))
	default:
		r.slotSeq, r.slotIdx = s1.seq, 1
		r.recovery.Committed = int(min(s1.length, maxLen+1))
	}
	r.recovery.SlotFallback = !ok0 || !ok1
	r.recovery.Live = -1
	n := r.recovery.Committed
	r.recovery.Trusted = "committed"
	if r.external {
		n, r.recovery.Committed = 0, 0 // the caller decides; see Adopt
	}
	if h.bootID == bootid.Current() {
		live, ok := parseLiveWord(ne.Uint64(page[offLive:]))
		if !ok {
			return fileErr(r.path, ErrChecksum, "live length word %#016x fails its check bits", ne.Uint64(page[offLive:]))
		}
		r.recovery.Live, r.recovery.Trusted, n = live, "live", live
	}
	if n > r.capacity {
		return fileErr(r.path, ErrLengthBeyondFile, "%s length %d, the file holds %d elements", r.recovery.Trusted, n, r.capacity)
	}
	r.recovery.Length = n
	r.n = n
	return nil
}

func (r *Raw) mapFile(reserveOpt int) error {
	want := reserveOpt
	if want == 0 {
		want = defaultReserve
		if unsafe.Sizeof(uintptr(0)) < 8 {
			want = 256 << 20 // 32-bit: leave room for others
		}
	}
	ps := int(pageSize)
	fileRound := (r.fileSize + ps - 1) &^ (ps - 1)
	want = max((want+ps-1)&^(ps-1), fileRound)
	// Stagger each file's start inside its reservation: reservations of
	// equal power-of-two sizes put every column at addresses equal in their
	// low bits, and appends across columns then thrash the TLB (measured:
	// 4-column appends 5x slower).
	stagger := int(staggerNext.Add(1)%staggerSlots) * 17 * ps % (staggerSlots * ps)
	base, err := reserve(uintptr(want + stagger))
	if err != nil {
		return &os.PathError{Op: "mmap reserve", Path: r.path, Err: fmt.Errorf("%d bytes: %w (lower Options.Reserve)", want, err)}
	}
	r.resBase, r.resSize = base, want+stagger
	base = unsafe.Add(base, stagger)
	r.base, r.reserved = base, want
	if err := mapFixed(int(r.f.Fd()), 0, base, uintptr(fileRound), !r.readOnly); err != nil {
		return &os.PathError{Op: "mmap", Path: r.path, Err: err}
	}
	r.mapped = fileRound
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

// Data returns a pointer to element 0. It stays valid, across growth, until
// [Raw.Close]. Elements at and past Cap must not be touched.
func (r *Raw) Data() unsafe.Pointer {
	if r.base == nil {
		return nil
	}
	return unsafe.Add(r.base, headerSize)
}

// SetViewLen sets the length a read-only Raw shows, without writing to the
// file: a read-only table shows its columns at the length that recovery
// decided. n must be at most Cap.
func (r *Raw) SetViewLen(n int) error {
	if r.closed {
		return ErrClosed
	}
	if n < 0 || n > r.capacity {
		return fileErr(r.path, ErrLengthBeyondFile, "length %d, the file holds %d elements", n, r.capacity)
	}
	r.n = n
	return nil
}

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

// Reserve makes room for n more elements without changing the length.
func (r *Raw) Reserve(n int) error {
	if err := r.check(true); err != nil {
		return err
	}
	if n < 0 {
		return fmt.Errorf("mmap: %s: Reserve(%d): negative count", r.path, n)
	}
	return r.growTo(r.Len() + n)
}

// Grow makes room for n more elements and returns a pointer to the first
// of them; the caller fills them and then calls [Raw.SetLen].
func (r *Raw) Grow(n int) (unsafe.Pointer, error) {
	if err := r.check(true); err != nil {
		return nil, err
	}
	old := r.Len()
	if n > maxLen-old || n < 0 {
		return nil, fileErr(r.path, ErrTooLarge, "appending %d elements to %d", n, old)
	}
	if err := r.growTo(old + n); err != nil {
		return nil, err
	}
	return unsafe.Add(r.Data(), old*r.elemSize), nil
}

// SetLen publishes a new length: element bytes below it must be written
// first. It stores the live length word (a plain store into the mapped
// header), so a process crash keeps it.
// n must be at most Cap.
func (r *Raw) SetLen(n int) {
	if n < 0 || n > r.capacity {
		panic(fmt.Sprintf("mmap: SetLen(%d) out of range [0, %d]", n, r.capacity))
	}
	crashpoint.Hit("vec.setlen")
	r.Publish(n)
}

// Flush is the data barrier: it makes every element durable, including
// writes made through slices, with fdatasync(2). The kernel writes back only
// the pages dirtied since the last flush, so its cost follows what was
// written, not the file's size. It does not commit the length: [Raw.Sync]
// does, and the table package writes its own commit record after flushing
// all its columns. A failure poisons the Raw.
func (r *Raw) Flush() error {
	if err := r.check(true); err != nil {
		return err
	}
	crashpoint.Hit("vec.flush")
	if err := dataSync(r.f); err != nil {
		r.poison = fmt.Errorf("mmap: %s: %w: %w", r.path, ErrPoisoned, err)
		return r.poison
	}
	r.grown = false
	r.durableEnd = max(r.durableEnd, r.usedEnd())
	return nil
}

// usedEnd is the end of the page that holds the last element.
func (r *Raw) usedEnd() int {
	ps := int(pageSize)
	return (headerSize + r.n*r.elemSize + ps - 1) &^ (ps - 1)
}

// NeedsFlush reports whether the next data barrier must be a full
// [Raw.Flush]: the file grew, or elements now lie in blocks that no full
// flush has made durable. Blocks from fallocate are "unwritten" extents, and
// the first write into one is a metadata change that only an fsync of the
// file is sure to persist. Otherwise [Raw.WriteBack] and [Raw.WaitWriteBack]
// followed by one device cache flush are enough.
func (r *Raw) NeedsFlush() bool {
	return !canWriteBack || r.grown || r.usedEnd() > r.durableEnd
}

// WriteBack starts writing the dirty element pages to the disk (not the
// header page, whose live length word a table does not need on disk). It
// does not wait and does not flush the device's cache. Linux only; elsewhere
// [Raw.NeedsFlush] is always true.
func (r *Raw) WriteBack() error {
	if err := r.check(true); err != nil {
		return err
	}
	return r.poisonOn(writeBack(r.f, headerSize, int64(r.fileSize-headerSize)))
}

// WaitWriteBack waits until the dirty element pages have reached the device.
// A device cache flush (any fdatasync on the file system) must follow before
// they are durable.
func (r *Raw) WaitWriteBack() error {
	if err := r.check(true); err != nil {
		return err
	}
	crashpoint.Hit("vec.writeback.wait")
	return r.poisonOn(waitWriteBack(r.f, headerSize, int64(r.fileSize-headerSize)))
}

// FlushDevice is an fdatasync of the file when nothing of it is dirty: on
// Linux file systems it flushes the device's volatile cache, making every
// write that has reached the device durable.
func (r *Raw) FlushDevice() error {
	if err := r.check(true); err != nil {
		return err
	}
	return r.poisonOn(dataSync(r.f))
}

func (r *Raw) poisonOn(err error) error {
	if err != nil {
		r.poison = fmt.Errorf("mmap: %s: %w: %w", r.path, ErrPoisoned, err)
		return r.poison
	}
	return nil
}

// Sync makes every element below Len durable and then commits Len in the
// next commit slot (pwrite + fdatasync), so that it survives an OS crash or
// power loss. After an error the Raw is poisoned: every later call returns
// [ErrPoisoned] until it is closed and reopened. A failed fsync is never
// retried, because the kernel may have dropped the dirty pages.
func (r *Raw) Sync() error {
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
	if err != nil {
		r.poison = fmt.Errorf("mmap: %s: %w: %w", r.path, ErrPoisoned, err)
		return r.poison
	}
	crashpoint.Hit("vec.sync.done")
	r.slotIdx, r.slotSeq = idx, s.seq
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

// Publish is [Raw.SetLen] for hot loops of callers that checked n
// themselves (0 <= n <= Cap): two plain stores, inlined.
func (r *Raw) Publish(n int) {
	// A plain aligned store: it reaches the page cache whatever happens to
	// the process next, and mapped memory is not Go memory.
	*r.live = liveWord(n)
	r.n = n
}

// Truncate shortens the Vec to n elements (n <= Len). The file keeps its
// size; the space is reused by later appends.
func (r *Raw) Truncate(n int) error {
	if err := r.check(true); err != nil {
		return err
	}
	if n < 0 || n > r.Len() {
		return fmt.Errorf("mmap: %s: Truncate(%d) outside [0, %d]", r.path, n, r.Len())
	}
	r.SetLen(n)
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
	if r.base != nil {
		errs = append(errs, release(r.resBase, uintptr(r.resSize)))
		r.base, r.live = nil, nil
	}
	if r.lock != nil {
		errs = append(errs, r.lock.Release())
	}
	if r.f != nil {
		errs = append(errs, r.f.Close())
	}
	return errors.Join(errs...)
}
