// Package persistence keeps big arrays of fixed-size records on disk and
// lets programs work on them at memory speed.
//
// The layers, bottom up:
//
//   - [github.com/mmapvec/persistence/lockfile]: flock(2) locks with holder pids.
//   - [github.com/mmapvec/persistence/mmap]: Vec[T], one memory-mapped,
//     growable file of T at a stable address.
//   - [github.com/mmapvec/persistence/column]: named, type-erased columns and
//     their typed views.
//   - this package: the [Manifest] that records a table's schema and the
//     machine it was written on.
//   - [github.com/mmapvec/persistence/table]: Table[R], a struct-of-arrays
//     table with a commit record and crash recovery.
//
// The file formats are specified in FORMAT.md at the repository root.
//
// # Caveats
//
//   - Files hold the machine's native layout: a table written on a
//     little-endian machine is refused on a big-endian one (and the same for
//     pointer size and type layout); the manifest says what differs.
//   - Record types must be fixed-size and pointer-free.
package persistence
