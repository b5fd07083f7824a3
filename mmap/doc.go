// Package mmap provides [Vec], a persistent, growable array of fixed-size,
// pointer-free elements kept in one memory-mapped file.
//
// A file is a 4096-byte header page followed by the elements, in the
// machine's native layout (FORMAT.md at the repository root specifies it).
// Opening a file of any size is O(1): nothing is read but the header.
//
// The file is mapped whole; growth maps it again at a new place and keeps
// the earlier mapping until Close, so a slice from [Vec.Slice] stays valid
// across appends and sees every later write. No address space is reserved
// ahead: a process holds as many Vecs as it has file descriptors, within
// about twice their size of address space. Growth allocates disk blocks
// with fallocate(2) before they are mapped: a full disk is an error from
// Push, Append or Reserve, never a SIGBUS.
//
// Durability: every completed Push or Append survives a crash of the
// process (the stores are in the page cache, and the header records the
// boot in which they were made). [Vec.Sync] makes the elements durable and
// then commits the length into one of two checksummed slots, so that after
// an OS crash or power loss the Vec reopens as of its last Sync.
//
// # Caveats
//
//   - **Never keep a slice from [Vec.Slice], or a pointer into one, past
//     [Vec.Close]**: Close fences the mapping, and touching it faults (for
//     the most recently closed 16 GiB of mappings, in up to 4,096 runs of
//     address space, where closed mappings that touch make one run; beyond
//     that the address may be reused by a later mapping).
//   - T must be fixed-size and pointer-free: bool, numbers, and arrays and
//     structs of them. Strings, slices, maps, pointers and interfaces are
//     refused when the file is opened, with a [*TypeError] naming the field.
//   - Files are tied to the byte order, and through int/uint to the word
//     size, of the machine that wrote them; another byte order is refused
//     with [ErrByteOrder].
//   - One writer per file: a writable open takes an exclusive flock(2) on
//     it (even within one process), a read-only open a shared one.
//   - After a failed Sync the Vec is poisoned ([ErrPoisoned]): reopen it.
//     A failed fsync is never retried, because the kernel may already have
//     dropped the pages it could not write.
//   - On a full copy-on-write file system (btrfs) a store into the mapping
//     of a page that already reached the disk faults (SIGBUS): the file
//     system has no block for the new copy. A Vec does not guard its
//     stores (the table package does); run them with
//     debug.SetPanicOnFault(true) and recover, or keep room on the disk.
//   - Set, SwapRemove and Pop change elements in place and are not
//     journaled: a kill in the middle of one may tear that element (a table
//     journals its in-place changes).
//   - Boot ids come from /proc/sys/kernel/random/boot_id on Linux and
//     kern.boottime elsewhere; where neither can be read, appends after the
//     last Sync are not trusted after a crash.
//   - Unix only (Linux, macOS, FreeBSD): a build for Windows stops with an
//     error that says so.
package mmap
