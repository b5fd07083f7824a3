package mmap

import (
	"fmt"
	"iter"
	"unsafe"

	"github.com/mmapvec/persistence/internal/colfile"
	"github.com/mmapvec/persistence/internal/crashpoint"
	"github.com/mmapvec/persistence/internal/errs"
	"github.com/mmapvec/persistence/internal/layout"
)

// Vec is a persistent, growable array of T kept in one memory-mapped file.
// T must be fixed-size and pointer-free: bool, numbers, and arrays and
// structs of them.
//
// Growth maps the file again at a new place and keeps the earlier mapping
// until Close, so a slice from [Vec.Slice] stays valid across appends until
// [Vec.Close], and shows every later write to its elements. **Never keep a
// slice, or a pointer into one, past Close**: it faults.
//
// A Vec is not safe for concurrent use. Other goroutines may read a slice
// taken earlier while one goroutine appends; anything more needs a lock.
type Vec[T any] struct {
	f    *colfile.File
	data *T  // element 0 of the current mapping; reloaded after growth
	n    int // the length, as f's
	// room is how many elements may be stored without a call into f: its
	// capacity while appends are allowed, 0 when closed, read-only or
	// poisoned, so that the fast paths test one number.
	room     int
	recovery Recovery
}

// Open opens the file at path as a Vec of T, creating it unless
// opts.ReadOnly. It fails if T is not fixed-size and pointer-free, if the
// file holds another tag, data version or element type, if it is damaged,
// or if another handle has it locked (a writer excludes everyone; readers
// share).
func Open[T any](path string, opts *Options) (*Vec[T], error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	l, err := layout.For[T]()
	if err != nil {
		return nil, err
	}
	f, err := colfile.Open(path, l, &colfile.Options{Tag: o.Tag, DataVersion: o.DataVersion,
		ReadOnly: o.ReadOnly, Create: true, Lock: true, LockTimeout: o.LockTimeout})
	if err != nil {
		return nil, err
	}
	v := &Vec[T]{f: f}
	if err := v.recover(); err != nil {
		_ = f.Close()
		return nil, err
	}
	v.sync()
	return v, nil
}

// sync reloads what the Vec caches of its file.
func (v *Vec[T]) sync() {
	v.data, v.n = (*T)(v.f.Data()), v.f.Len()
	v.room = 0
	if v.f.Check(true) == nil {
		v.room = v.f.Cap()
	}
}

// Len returns the number of elements.
func (v *Vec[T]) Len() int { return v.n }

// Cap returns the number of elements that fit before the file grows.
func (v *Vec[T]) Cap() int { return v.f.Cap() }

// Recovery says how the length was chosen at open.
func (v *Vec[T]) Recovery() Recovery { return v.recovery }

func (v *Vec[T]) at(i int) *T {
	return (*T)(unsafe.Add(unsafe.Pointer(v.data), uintptr(i)*unsafe.Sizeof(*v.data)))
}

func (v *Vec[T]) bounds(i int) {
	if uint(i) >= uint(v.n) {
		v.panicIndex(i)
	}
}

// panicIndex is out of line so that Get and bounds inline.
//
//go:noinline
func (v *Vec[T]) panicIndex(i int) {
	if err := v.f.Check(false); err != nil {
		panic(fmt.Sprintf("mmap: index %d of a closed Vec", i))
	}
	panic(fmt.Sprintf("mmap: index out of range [%d] with length %d", i, v.n))
}

// Get returns element i. It panics if i is out of range, like a slice.
func (v *Vec[T]) Get(i int) T {
	if uint(i) >= uint(v.n) {
		v.panicIndex(i)
	}
	return *v.at(i)
}

// Set stores x at i. It panics if i is out of range, or if v is read-only
// or closed (a programming error, like writing to a read-only slice).
func (v *Vec[T]) Set(i int, x T) {
	v.mustWrite()
	v.bounds(i)
	*v.at(i) = x
}

func (v *Vec[T]) mustWrite() {
	if err := v.f.Check(true); err != nil {
		panic(err)
	}
}

// Slice returns the elements as a live slice backed by the file: writes
// through it change the file and are made durable by the next [Vec.Sync].
// It stays valid across growth until Close; its length is Len at the time
// of the call.
func (v *Vec[T]) Slice() []T {
	if v.n == 0 {
		return nil
	}
	return unsafe.Slice(v.data, v.n)
}

// All iterates over index and value pairs of the elements present when it
// starts. It stops early if the loop body closes the Vec: the mapping is
// gone then.
func (v *Vec[T]) All() iter.Seq2[int, T] {
	return func(yield func(int, T) bool) {
		for i, x := range v.Slice() {
			if !yield(i, x) || v.data == nil {
				return
			}
		}
	}
}

// grow makes room for need elements in all, or returns why it cannot.
func (v *Vec[T]) grow(need int) error {
	err := v.f.EnsureCap(need)
	v.sync()
	return err
}

// setLen publishes n: the elements below it are written.
func (v *Vec[T]) setLen(n int) {
	crashpoint.Hit("vec.setlen")
	v.f.Publish(n)
	v.n = n
}

// writeThreshold is the size from which Append writes with pwrite(2).
const writeThreshold = 64 << 10

// Push appends one element.
func (v *Vec[T]) Push(x T) error {
	n := v.n
	if n >= v.room {
		if err := v.grow(n + 1); err != nil {
			return err
		}
	}
	*v.at(n) = x
	v.setLen(n + 1)
	return nil
}

// Append appends xs.
func (v *Vec[T]) Append(xs ...T) error {
	old := v.n
	if len(xs) > v.room-old {
		if len(xs) > maxAppend-old {
			return fmt.Errorf("%w: appending %d elements to %d", errs.ErrTooLarge, len(xs), old)
		}
		if err := v.grow(old + len(xs)); err != nil {
			return err
		}
	}
	if len(xs) == 0 {
		return v.f.Check(true)
	}
	if n := len(xs) * int(unsafe.Sizeof(xs[0])); n >= writeThreshold {
		// Large appends go through pwrite: the kernel's copy into the page
		// cache costs less than a page fault per 4 KiB of the mapping.
		if err := v.f.WriteAt(unsafe.Slice((*byte)(unsafe.Pointer(&xs[0])), n), old); err != nil {
			return err
		}
	} else {
		copy(unsafe.Slice(v.at(old), len(xs)), xs)
	}
	v.setLen(old + len(xs))
	return nil
}

// maxAppend bounds lengths before they are added, so no sum overflows.
const maxAppend = 1 << 48

// Pop removes and returns the last element; false if v is empty. It panics
// if v is read-only or closed.
func (v *Vec[T]) Pop() (T, bool) {
	var zero T
	v.mustWrite()
	n := v.n
	if n == 0 {
		return zero, false
	}
	x := *v.at(n - 1)
	v.setLen(n - 1)
	return x, true
}

// SwapRemove removes element i by moving the last element into its place,
// and returns it. O(1); order is not kept. It panics if i is out of range or
// v is read-only or closed.
func (v *Vec[T]) SwapRemove(i int) T {
	v.mustWrite()
	v.bounds(i)
	n := v.n
	x := *v.at(i)
	if i != n-1 {
		*v.at(i) = *v.at(n - 1)
	}
	v.setLen(n - 1)
	return x
}

// Truncate shortens v to n elements; n must not exceed Len. The file keeps
// its size: the space is reused by later appends.
func (v *Vec[T]) Truncate(n int) error {
	if err := v.f.Check(true); err != nil {
		return err
	}
	if n < 0 || n > v.n {
		return fmt.Errorf("%w: Truncate(%d) of a Vec of %d", ErrRange, n, v.n)
	}
	v.setLen(n)
	return nil
}

// Reserve makes room for n more elements, allocating the disk blocks now.
func (v *Vec[T]) Reserve(n int) error {
	if err := v.f.Check(true); err != nil {
		return err
	}
	if n < 0 {
		return fmt.Errorf("%w: Reserve(%d) for a Vec of %d", ErrRange, n, v.n)
	}
	if n > maxAppend-v.n {
		return fmt.Errorf("%w: Reserve(%d) for a Vec of %d", errs.ErrTooLarge, n, v.n)
	}
	return v.grow(v.n + n)
}

// Sync makes every element durable, then commits the length into the next
// of the file's two commit slots, so that it survives an OS crash or power
// loss. After an error the Vec is poisoned: every later call returns
// [ErrPoisoned] until it is closed and reopened. A failed fsync is never
// retried, because the kernel may have dropped the dirty pages.
func (v *Vec[T]) Sync() error {
	err := v.f.Sync()
	if err != nil {
		v.room = 0 // poisoned: appends take the checked path
	}
	return err
}

// Close unmaps and unlocks the file; it is idempotent. It does not sync:
// appends since the last Sync survive a process crash, not an OS crash.
// After Close, Len is 0 and every method with an error result returns
// [ErrClosed].
func (v *Vec[T]) Close() error {
	err := v.f.Close()
	v.data, v.n, v.room = nil, 0, 0
	return err
}
