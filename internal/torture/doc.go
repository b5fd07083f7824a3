// Package torture holds the crash, fault and bad-input tests of the library.
// Its files are named by subject, one for a Vec and one for a table where
// both apply:
//
//	vec_kill9_test.go, table_kill9_test.go          a process killed (SIGKILL) at random moments
//	                                                and at every crash point (for a table, its
//	                                                recovery killed at every point too)
//	vec_powerloss_test.go, table_powerloss_test.go  disk images after a power cut, opened as
//	                                                after a reboot
//	vec_corrupt_test.go, table_corrupt_test.go      damaged and hostile files: typed errors or
//	                                                intact rows, never a panic
//	slots_test.go                                   torn and flipped commit slots
//	locks_test.go                                   locks across processes
//	diskfull_test.go                                a full disk and a file-size limit
//	concurrent_test.go                              readers during appends, parallel flushes
//	readers_test.go, readers_corrupt_test.go        readers in other processes beside a writer
//	                                                (killed, and killing it), snapshots of a live
//	                                                table; a hostile READERS page
//	schema_test.go                                  power-loss images across schema changes, and
//	                                                damaged histories and SCHEMA records
//	golden_test.go                                  files written on other architectures
//	wal_test.go, wal_kill9_test.go                  the commit log: its power-loss figures, a
//	                                                logged Sync beside writable views; group
//	                                                commit and save points after kill -9
//
// with what they share in workload_test.go (the steps and the model of what
// a Vec or table must hold), vec_test.go and table_test.go (the element and
// row under test), files_test.go (the file formats built by hand) and
// main_test.go (child roles, figures, modes). Test names start with TestVec
// or TestTable where they test one of the two, so that -run '^TestTable'
// runs every table test. Children are this test binary re-run in a role,
// through internal/testproc.
//
// The power-loss images come from internal/powerloss: from the content the
// last sync made durable and what the page cache held, each page written
// since is applied, dropped or torn, with garbage in the sector being
// written (a file system that overwrites in place, such as ext4 or XFS);
// or, in its copy-on-write mode (btrfs), each file keeps only what its own
// fdatasync, or a file-system transaction, made durable. The subpackage
// realfs checks the same promise on real ext4, XFS and btrfs file systems
// on loop devices, cutting the power right after each Sync returns.
//
// Run modes (see mode in main_test.go): under the race detector, as the
// repository's test command runs it, the suite runs fewer trials than
// natively, since the detector slows its child processes and file copies
// and finds nothing in them; -short (the qemu runs) fewer still, and
// PERSIST_TORTURE=long (make torture) many more. The fixed workloads are
// killed at every crash point natively and in long mode; race and short
// runs skip the middle of a repetition (the third of five columns a Sync
// flushes), so that every step is still killed at each kind of point it
// reaches (killPoints). PERSIST_SEED replays a
// randomized test with the seed it logged. Each run ends with a line
// "torture figures:" that totals the trials, crash runs, power-loss images,
// cases and crash points reached.
package torture
