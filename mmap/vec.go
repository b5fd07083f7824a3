package mmap

import (
	"fmt"
	"iter"
	"reflect"
	"unsafe"
)

// Vec is a persistent, growable array of T kept in one memory-mapped file.
// T must be fixed-size and pointer-free (see [LayoutOf]).
//
// Growth maps the file again at a new place and keeps the earlier mapping
// until Close, so a slice from [Vec.Slice] stays valid across appends until
// [Vec.Close], and shows every later write to its elements. **Never keep a
// slice, or a pointer into one, past Close**: it faults.
//
// A Vec is not safe for concurrent use. Other goroutines may read a slice
// taken earlier while one goroutine appends; anything more needs a lock.
type Vec[T any] struct {
	raw  *Raw
	data *T // element 0 of the current mapping; refreshed after growth
}

// Open opens the file at path as a Vec of T, creating it unless
// opts.ReadOnly. It fails if T is not fixed-size and pointer-free, if the
// file holds another tag, data version or element type, if it is damaged,
// or if another handle has it locked (a writer excludes everyone; readers
// share).
func Open[T any](path string, opts *Options) (*Vec[T], error) {
	layout, err := LayoutOf(reflect.TypeFor[T]())
	if err != nil {
		return nil, err
	}
	raw, err := OpenRaw(path, layout, opts)
	if err != nil {
		return nil, err
	}
	return &Vec[T]{raw: raw, data: (*T)(raw.Data())}, nil
}

// Raw returns the untyped core of v.
func (v *Vec[T]) Raw() *Raw { return v.raw }

// Len returns the number of elements.
func (v *Vec[T]) Len() int { return v.raw.Len() }

// Cap returns the number of elements that fit before the file grows.
func (v *Vec[T]) Cap() int { return v.raw.Cap() }

// Recovery says how the length was chosen at open.
func (v *Vec[T]) Recovery() Recovery { return v.raw.Recovery() }

func (v *Vec[T]) at(i int) *T {
	return (*T)(unsafe.Add(unsafe.Pointer(v.data), uintptr(i)*unsafe.Sizeof(*v.data)))
}

func (v *Vec[T]) bounds(i int) {
	if n := v.raw.n; uint(i) >= uint(n) {
		panicIndex(i, n)
	}
}

// panicIndex is out of line so that Get and bounds inline.
//
//go:noinline
func panicIndex(i, n int) {
	panic(fmt.Sprintf("mmap: index out of range [%d] with length %d", i, n))
}

// Get returns element i. It panics if i is out of range, like a slice.
func (v *Vec[T]) Get(i int) T {
	if uint(i) >= uint(v.raw.n) {
		panicIndex(i, v.raw.n)
	}
	return *v.at(i)
}

// Set stores x at i. It panics if i is out of range, or if v is read-only
// or closed (a programming error, like writing to a read-only slice).
func (v *Vec[T]) Set(i int, x T) {
	if err := v.raw.check(true); err != nil {
		panic(err)
	}
	v.bounds(i)
	*v.at(i) = x
}

// Slice returns the elements as a live slice backed by the file: writes
// through it change the file and are made durable by the next [Vec.Sync].
// It stays valid across growth until Close; its length is Len at the time
// of the call.
func (v *Vec[T]) Slice() []T {
	n := v.raw.Len()
	if n == 0 {
		return nil
	}
	return unsafe.Slice(v.data, n)
}

// All iterates over index and value pairs of the elements present when it
// starts.
func (v *Vec[T]) All() iter.Seq2[int, T] {
	return func(yield func(int, T) bool) {
		for i, x := range v.Slice() {
			if !yield(i, x) {
				return
			}
		}
	}
}

// writeThreshold is the size from which Append writes with pwrite(2).
const writeThreshold = 64 << 10

// Push appends one element.
func (v *Vec[T]) Push(x T) error {
	r := v.raw
	n := r.Len()
	if n == r.capacity || r.closed || r.readOnly || r.poison != nil {
		if _, err := r.Grow(1); err != nil {
			return err
		}
		v.data = (*T)(r.Data())
	}
	*v.at(n) = x
	r.SetLen(n + 1)
	return nil
}

// Append appends xs.
func (v *Vec[T]) Append(xs ...T) error {
	if len(xs) == 0 {
		return v.raw.check(true)
	}
	p, err := v.raw.Grow(len(xs))
	if err != nil {
		return err
	}
	v.data = (*T)(v.raw.Data())
	old := v.raw.Len()
	if n := len(xs) * int(unsafe.Sizeof(xs[0])); n >= writeThreshold {
		// Large appends go through pwrite: the kernel's copy into the page
		// cache costs less than a page fault per 4 KiB of the mapping.
		if err := v.raw.WriteAt(unsafe.Slice((*byte)(unsafe.Pointer(&xs[0])), n), old); err != nil {
			return err
		}
	} else {
		copy(unsafe.Slice((*T)(p), len(xs)), xs)
	}
	v.raw.SetLen(old + len(xs))
	return nil
}

// Pop removes and returns the last element; false if v is empty. It panics
// if v is read-only or closed.
func (v *Vec[T]) Pop() (T, bool) {
	var zero T
	if err := v.raw.check(true); err != nil {
		panic(err)
	}
	n := v.raw.Len()
	if n == 0 {
		return zero, false
	}
	x := *v.at(n - 1)
	v.raw.SetLen(n - 1)
	return x, true
}

// SwapRemove removes element i by moving the last element into its place,
// and returns it. O(1); order is not kept. It panics if i is out of range or
// v is read-only or closed.
func (v *Vec[T]) SwapRemove(i int) T {
	if err := v.raw.check(true); err != nil {
		panic(err)
	}
	v.bounds(i)
	n := v.raw.Len()
	x := *v.at(i)
	if i != n-1 {
		*v.at(i) = *v.at(n - 1)
	}
	v.raw.SetLen(n - 1)
	return x
}

// Truncate shortens v to n elements; n must not exceed Len.
func (v *Vec[T]) Truncate(n int) error { return v.raw.Truncate(n) }

// Reserve makes room for n more elements, allocating the disk blocks now.
func (v *Vec[T]) Reserve(n int) error {
	err := v.raw.Reserve(n)
	v.data = (*T)(v.raw.Data())
	return err
}

// Sync makes all elements durable and commits the length. See [Raw.Sync].
func (v *Vec[T]) Sync() error { return v.raw.Sync() }

// Close unmaps and unlocks the file; it is idempotent. It does not sync:
// appends since the last Sync survive a process crash, not an OS crash.
func (v *Vec[T]) Close() error { return v.raw.Close() }
