//go:build unix

package colfile

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// mapShared maps the first length bytes of fd wherever the kernel places
// them.
func mapShared(fd int, length uintptr, writable bool) (unsafe.Pointer, error) {
	prot := unix.PROT_READ
	if writable {
		prot |= unix.PROT_WRITE
	}
	return unix.MmapPtr(fd, 0, nil, length, prot, unix.MAP_SHARED)
}

// fence replaces the mapping at [addr, addr+length) with inaccessible
// anonymous memory, in one step: the file's pages are gone from the range,
// and no later mapping can be placed there until it is unmapped. It costs
// no memory.
func fence(addr unsafe.Pointer, length uintptr) error {
	_, err := unix.MmapPtr(-1, 0, addr, length, unix.PROT_NONE, unix.MAP_PRIVATE|unix.MAP_ANON|unix.MAP_FIXED|mapNoReserve)
	return err
}

// unmap releases [addr, addr+length).
func unmap(addr unsafe.Pointer, length uintptr) error { return unix.MunmapPtr(addr, length) }

// outOfAddressSpace reports whether a failed mmap ran out of address space
// or mappings (RLIMIT_AS, vm.max_map_count) rather than failing for the file.
func outOfAddressSpace(err error) bool { return err == unix.ENOMEM }
