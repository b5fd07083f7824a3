// Package mmap provides [Vec], a persistent, growable array of fixed-size,
// pointer-free elements kept in one memory-mapped file, and [Raw], its
// untyped core.
//
// A file is a 4096-byte header page followed by the elements, in the
// machine's native layout (FORMAT.md at the repository root specifies it).
// Opening a file of any size is O(1): nothing is read but the header.
//
// The file is mapped into a range of address space reserved once at open
// ([Options.Reserve], 64 GiB by default, which costs no memory) and grows in
// place, so a slice from [Vec.Slice] stays valid across appends. Growth
// allocates disk blocks with fallocate(2) before they are mapped: a full
// disk is an error from Push, Append or Reserve, never a SIGBUS.
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
//     [Vec.Close]**: the mapping is gone and using it faults.
//   - T must be fixed-size and pointer-free: bool, numbers, and arrays and
//     structs of them. Strings, slices, maps, pointers and interfaces are
//     refused when the file is opened, naming the field.
//   - Files are tied to the byte order, and through int/uint to the word
//     size, of the machine that wrote them; another byte order is refused
//     with [ErrByteOrder].
//   - One writer per file: a writable open takes an exclusive flock(2) on
//     it (even within one process), a read-only open a shared one.
//   - After a failed Sync the Vec is poisoned ([ErrPoisoned]): reopen it.
//     A failed fsync is never retried, because the kernel may already have
//     dropped the pages it could not write.
//   - Boot ids come from /proc/sys/kernel/random/boot_id on Linux and
//     kern.boottime elsewhere; where neither exists, appends after the last
//     Sync are not trusted after a crash.
package mmap
