//go:build unix

package mmap

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// reserve takes size bytes of address space that nothing can be placed in
// and that costs no memory: the range a file is mapped into as it grows.
func reserve(size uintptr) (unsafe.Pointer, error) {
	return unix.MmapPtr(-1, 0, nil, size, unix.PROT_NONE, unix.MAP_PRIVATE|unix.MAP_ANON|mapNoReserve)
}

// mapFixed maps length bytes of fd at offset over addr, which lies inside a
// reservation. offset and addr are page-aligned.
func mapFixed(fd int, offset int64, addr unsafe.Pointer, length uintptr, writable bool) error {
	prot := unix.PROT_READ
	if writable {
		prot |= unix.PROT_WRITE
	}
	_, err := unix.MmapPtr(fd, offset, addr, length, prot, unix.MAP_SHARED|unix.MAP_FIXED)
	return err
}

// release unmaps a whole reservation, file mappings included.
func release(addr unsafe.Pointer, size uintptr) error {
	return unix.MunmapPtr(addr, size)
}
