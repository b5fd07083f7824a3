// Package persistence keeps big arrays of fixed-size records on disk and
// lets programs work on them at memory speed.
//
// The layers, bottom up:
//
//   - [github.com/mmapvec/persistence/lockfile]: flock(2) locks with holder pids.
//   - [github.com/mmapvec/persistence/mmap]: Vec[T], one memory-mapped,
//     growable file of T.
//   - [github.com/mmapvec/persistence/column]: Of[T], the typed view of one
//     column of a table (a live []T).
//   - this package: the [Manifest] that records a table's schema and the
//     machine it was written on.
//   - [github.com/mmapvec/persistence/table]: Table[R], a struct-of-arrays
//     table with a commit record and crash recovery.
//
// Under them, in internal/ and out of users' reach: the column file
// (internal/colfile), a table's set of columns (internal/colset), the row
// codec (internal/rowcodec), the element layouts (internal/layout) and the
// errors every layer shares (internal/errs, re-exported by mmap and table).
//
// The file formats are specified in FORMAT.md at the repository root.
//
// # Caveats
//
//   - Files hold the machine's native layout: a table written on a
//     little-endian machine is refused on a big-endian one (and the same for
//     pointer size and type layout); the manifest says what differs.
//   - Record types must be fixed-size and pointer-free.
//   - Unix only (Linux, macOS, FreeBSD): the library maps files with
//     mmap(2), locks them with flock(2) and syncs them with fdatasync(2); a
//     build for Windows stops with an error that says so.
package persistence
