// Package realfs tests the library's durability promise on real file
// systems: ext4, XFS and btrfs, each made in a sparse image file, attached
// to a loop device and mounted. A workload commits a table with
// Table.Sync (most of them logged: one record in the write-ahead log, the
// columns not flushed), SyncMeta and groups of AppendSync calls from many
// goroutines, and the instant each returns the test copies the image
// file. Reading the backing file gives exactly what the device has
// been handed, so each copy is the disk after a power cut that kept every
// write issued so far. Each copy is then mounted on its own loop device
// (the file system replays its journal or log) and the table is opened as
// after a reboot: it must hold exactly the rows of that Sync, in every
// column, including rows changed in place and written through column
// slices, with that Sync's meta.
//
// This catches what a model of pages cannot: how each file system persists
// block pointers and sizes. On btrfs an overwrite moves a page to a new
// block, and only a file that was fsynced gets its new pointers logged;
// a Sync that wrote back columns without an fsync of each lost them.
//
// The tests live in the _test.go files; this package has no other code.
//
// # Caveats
//
// The tests need root, losetup, mount and mkfs.ext4, mkfs.xfs and
// mkfs.btrfs (Debian: e2fsprogs, xfsprogs, btrfs-progs, util-linux), and a
// kernel that may mount loop devices. A file system whose tools or kernel
// support are missing is skipped with a message that says what is missing.
// They are skipped under -short. The cut keeps every write the device was
// handed, in order: it tests what the file system itself persists, not a
// disk that reorders or drops writes from its volatile cache (the
// power-loss model in package torture covers that).
package realfs
