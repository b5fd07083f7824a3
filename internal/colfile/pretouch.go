//go:build unix

package colfile

import (
	"sync/atomic"
	"unsafe"
)

// Touch faults in, writable, the pages that hold elements [from, to) of the
// current mapping (bounded by it: whole pages, each starting inside the
// file), so that the writer's
// first store to each of them does not take a page fault. It returns the
// element index up to which the pages are now touched. It may run in
// another goroutine than the writer's, beside its appends and growth, but
// never once Close has begun: its owner stops it first, as a fenced
// mapping faults.
//
// A read fault would not do: on a shared file mapping it maps the page
// read-only, and the first store still faults to make it writable (and
// dirty). So Touch writes, by an atomic add of 0 to the first word of each
// page: it changes no byte, and it is safe beside the writer's plain stores
// to the same word on every architecture Go supports, because an atomic
// read-modify-write is indivisible (a lock-prefixed add on amd64 and 386, an
// LSE add or an exclusive pair that a store in between makes retry on arm64,
// and the same reservation rule for the load-linked/store-conditional pairs
// of the others): the writer's store lands before it, and is written back
// unchanged, or after it. Only pages past the rows are ever given to Touch,
// where the file holds zeros, and a kill -9 at any point leaves every byte
// as it was. Calls to Touch must not overlap one another.
func (r *File) Touch(from, to int) int {
	data, n := r.Mapped()
	if data == nil || from >= to {
		return from
	}
	if data != r.touched {
		// A new mapping (growth): its header page too, where the writer
		// stores the live length next. The magic's word, never written
		// again, is a cache line away from the live word.
		r.touched = data
		atomic.AddUint64((*uint64)(unsafe.Add(data, -headerSize)), 0)
	}
	es := r.elemSize
	end := min(to*es, n)
	if from*es >= end {
		return from
	}
	// Pages are counted from the mapping's start, the header page: the
	// first page touched is the one that holds element from.
	base := unsafe.Add(data, -headerSize)
	first := uintptr(from*es+headerSize) &^ (pageSize - 1)
	last := uintptr(end + headerSize)
	for off := first; off < last; off += pageSize {
		atomic.AddUint64((*uint64)(unsafe.Add(base, off)), 0)
	}
	return end / es
}
