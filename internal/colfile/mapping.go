//go:build unix

package colfile

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"unsafe"
)

// mapping is one range of address space that a file was mapped into.
type mapping struct {
	addr unsafe.Pointer
	size uintptr
}

// mapWhole maps the whole file (fileSize, rounded up to pages) at a place
// the kernel picks, and makes it the current mapping. The previous one is
// kept until Close: slices into it stay valid, and since both are
// MAP_SHARED views of one file, they show the same bytes.
//
// No address space is reserved ahead: a process holds as many columns as it
// has descriptors, and its address space stays within twice its files' size
// (growth doubles, so the kept mappings sum to less than the current one).
func (r *File) mapWhole() error {
	size := (uintptr(r.fileSize) + pageSize - 1) &^ (pageSize - 1)
	addr, err := mapShared(int(r.f.Fd()), size, !r.readOnly)
	if err != nil && outOfAddressSpace(err) && quarantine.drain() {
		addr, err = mapShared(int(r.f.Fd()), size, !r.readOnly)
	}
	if err != nil {
		if outOfAddressSpace(err) {
			err = fmt.Errorf("%w: %d bytes: the process is out of address space (ulimit -v) or of mappings (vm.max_map_count); close tables or vecs, or raise the limit", err, size)
		}
		return &os.PathError{Op: "mmap", Path: r.path, Err: err}
	}
	if r.ro.on {
		// The read-only views' own mapping follows at the same size, mapped
		// first so that a failure leaves both as they were.
		roAddr, err := mapShared(int(r.f.Fd()), size, false)
		if err != nil {
			_ = unmap(addr, size)
			return &os.PathError{Op: "mmap", Path: r.path, Err: err}
		}
		r.ro.old = append(r.ro.old, mapping{r.ro.base, r.ro.size})
		r.ro.base, r.ro.size = roAddr, size
		r.ro.data.Store((*byte)(unsafe.Add(roAddr, headerSize)))
	}
	if r.base != nil {
		r.old = append(r.old, mapping{r.base, uintptr(r.mapped)})
	}
	r.base, r.mapped = addr, int(size)
	r.live = (*uint64)(unsafe.Add(addr, offLive))
	r.data.Store((*byte)(unsafe.Add(addr, headerSize)))
	r.dataLen.Store(int64(size) - headerSize) // after the pointer: see Mapped
	return nil
}

// unmapAll fences every mapping of the file (see [quarantine]).
func (r *File) unmapAll() error {
	var errs []error
	if r.base != nil {
		r.old = append(r.old, mapping{r.base, uintptr(r.mapped)})
	}
	if r.ro.on {
		r.old = append(append(r.old, r.ro.old...), mapping{r.ro.base, r.ro.size})
		r.ro = readOnlyMapping{}
	}
	for _, m := range r.old {
		errs = append(errs, quarantine.add(m))
	}
	r.base, r.live, r.old, r.mapped = nil, nil, nil, 0
	r.dataLen.Store(0) // before the pointer: see Mapped
	r.data.Store(nil)
	return errors.Join(errs...)
}

// Closed mappings are not unmapped at once: their ranges are fenced
// (inaccessible, no memory) and kept out of reuse, so that a slice kept past
// Close faults instead of reading or writing whatever file the kernel would
// map there next. The quarantine keeps the most recently closed ranges up to
// quarantineBytes, and up to quarantineRanges runs; older ones are unmapped,
// oldest first, and an mmap that runs out of address space empties it and
// retries.
//
// A run is a stretch of fenced ranges that touch: the kernel merges
// adjacent fences (the same anonymous PROT_NONE mapping) into one entry of
// the process's map count (vm.max_map_count, 65530 by default), which is
// what the run limit guards, and it places a process's mappings next to one
// another, so a table's columns closed together mostly make one run. The
// ranges stay apart in the quarantine's books, so that the oldest goes
// first even from the middle of a run.
const quarantineRanges = 4096

// quarantineBytes is 16 GiB on 64-bit machines, a quarter of the address
// space on 32-bit ones.
var quarantineBytes = uintptr(min(uint64(^uintptr(0))>>2+1, 16<<30))

var quarantine closedRanges

type closedRanges struct {
	mu     sync.Mutex
	ranges []mapping // oldest first
	bytes  uintptr
	// The ranges by their first and past-the-end addresses, to find the
	// ones a range touches, and the count of runs they make.
	starts, ends map[uintptr]bool
	runs         int
}

// add fences m and keeps it, unmapping the oldest ranges past the limits.
func (q *closedRanges) add(m mapping) error {
	if err := fence(m.addr, m.size); err != nil {
		return errors.Join(err, unmap(m.addr, m.size))
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.starts == nil {
		q.starts, q.ends = map[uintptr]bool{}, map[uintptr]bool{}
	}
	lo, hi := uintptr(m.addr), uintptr(m.addr)+m.size
	q.runs += 1 - count(q.ends[lo]) - count(q.starts[hi]) // joins the runs it touches
	q.starts[lo], q.ends[hi] = true, true
	q.ranges = append(q.ranges, m)
	q.bytes += m.size
	var errs []error
	for len(q.ranges) > 1 && (q.bytes > quarantineBytes || q.runs > quarantineRanges) {
		old := q.ranges[0]
		q.ranges = q.ranges[1:]
		q.bytes -= old.size
		lo, hi := uintptr(old.addr), uintptr(old.addr)+old.size
		delete(q.starts, lo)
		delete(q.ends, hi)
		q.runs += count(q.ends[lo]) + count(q.starts[hi]) - 1 // splits its run, or ends it
		errs = append(errs, unmap(old.addr, old.size))
	}
	return errors.Join(errs...)
}

func count(b bool) int {
	if b {
		return 1
	}
	return 0
}

// drain unmaps every kept range; it reports whether there was any.
func (q *closedRanges) drain() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, m := range q.ranges {
		_ = unmap(m.addr, m.size)
	}
	had := len(q.ranges) > 0
	q.ranges, q.bytes, q.starts, q.ends, q.runs = nil, 0, nil, nil, 0
	return had
}

// readOnlyMapping is a writable file's second mapping, PROT_READ, for views
// that promise not to write: a store through one faults. A writer's Sync
// must flush whatever writable slices may have written; what read-only
// views reach needs no such care (table.ReadColumn).
type readOnlyMapping struct {
	on   bool
	base unsafe.Pointer
	size uintptr
	data atomic.Pointer[byte]
	old  []mapping // earlier ones, kept until Close as the writable ones are
}

// MapReadOnly gives a writable file its read-only mapping (once; growth
// maps it again with the other). A read-only file's one mapping is already
// read-only.
func (r *File) MapReadOnly() error {
	if err := r.Check(false); err != nil {
		return err
	}
	if r.readOnly || r.ro.on {
		return nil
	}
	size := uintptr(r.mapped)
	addr, err := mapShared(int(r.f.Fd()), size, false)
	if err != nil {
		return &os.PathError{Op: "mmap", Path: r.path, Err: err}
	}
	r.ro.on, r.ro.base, r.ro.size = true, addr, size
	r.ro.data.Store((*byte)(unsafe.Add(addr, headerSize)))
	return nil
}

// ReadOnlyData is [File.Data] through the read-only mapping (the file's
// own mapping if the file is read-only); nil before MapReadOnly and after
// Close. It may be called from any goroutine.
func (r *File) ReadOnlyData() unsafe.Pointer {
	if r.readOnly {
		return r.Data()
	}
	return unsafe.Pointer(r.ro.data.Load())
}
