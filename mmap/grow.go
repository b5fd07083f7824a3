package mmap

import (
	"os"
	"strconv"
	"strings"
	"unsafe"

	"github.com/mmapvec/persistence/internal/crashpoint"
)

// pageSize is the mapping granularity: file offsets of mappings are
// multiples of it. The format's own header page is 4096 bytes, which every
// page size divides or equals a multiple of.
var pageSize = uintptr(os.Getpagesize())

const (
	// minGrowBytes is the smallest growth step once the file is past it:
	// doubling from a small file would otherwise cost a syscall per page.
	minGrowBytes = 1 << 20
	// DefaultReserve is the address space reserved per Vec on 64-bit
	// machines: it costs no memory and bounds the file size. The
	// PERSIST_RESERVE environment variable (bytes, or a number with a KiB,
	// MiB or GiB suffix) replaces it for the whole process: emulators such
	// as qemu-user spend memory on reserved address space.
	DefaultReserve = 64 << 30
)

// defaultReserve is DefaultReserve or PERSIST_RESERVE.
var defaultReserve = func() int {
	s := strings.TrimSpace(os.Getenv("PERSIST_RESERVE"))
	mult := 1
	for suffix, m := range map[string]int{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30} {
		if strings.HasSuffix(s, suffix) {
			s, mult = strings.TrimSuffix(s, suffix), m
		}
	}
	if n, err := strconv.Atoi(s); err == nil && n > 0 {
		return n * mult
	}
	return DefaultReserve
}()

// writeZeros extends f to off+n by writing zero blocks.
func writeZeros(f *os.File, off, n int64) error {
	buf := make([]byte, min(n, 1<<20))
	for n > 0 {
		w := min(n, int64(len(buf)))
		if _, err := f.WriteAt(buf[:w], off); err != nil {
			return err
		}
		off += w
		n -= w
	}
	return nil
}

// growTo makes room for at least need elements: allocate the blocks, then
// map them into the reservation right after what is mapped.
func (r *Raw) growTo(need int) error {
	if need <= r.capacity {
		return nil
	}
	if need > maxLen {
		return fileErr(r.path, ErrTooLarge, "%d elements is past the format's limit of %d", need, maxLen)
	}
	es := r.elemSize
	newCap := max(need, 2*r.capacity, minGrowBytes/es)
	limit := (r.reserved - headerSize) / es
	if newCap > limit {
		if need > limit {
			return fileErr(r.path, ErrReservation,
				"%d elements of %d bytes need %d bytes, the reservation is %d; open with a larger Options.Reserve",
				need, es, headerSize+need*es, r.reserved)
		}
		newCap = limit
	}
	oldSize := int64(r.fileSize)
	newSize := int64(headerSize + newCap*es)
	crashpoint.Hit("vec.grow.allocate")
	if err := allocate(r.f, oldSize, newSize-oldSize); err != nil {
		// Leave the file as it was: a partly allocated tail is not ours.
		_ = r.f.Truncate(oldSize)
		return err
	}
	crashpoint.Hit("vec.grow.map")
	// Remap from the page that holds the old end; offsets must be page-aligned.
	from := uintptr(oldSize) &^ (pageSize - 1)
	to := (uintptr(newSize) + pageSize - 1) &^ (pageSize - 1)
	if err := mapFixed(int(r.f.Fd()), int64(from), unsafe.Add(r.base, from), to-from, true); err != nil {
		_ = r.f.Truncate(oldSize)
		return &os.PathError{Op: "mmap", Path: r.path, Err: err}
	}
	r.mapped = int(to)
	r.fileSize = int(newSize)
	r.capacity = newCap
	r.grown = true
	return nil
}
