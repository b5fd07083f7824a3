//go:build unix

// Package lockfile takes advisory flock(2) locks on files: exclusive for a
// writer, shared for readers, non-blocking by default or waiting up to a
// timeout.
//
// An exclusive holder of a lock file opened with [Acquire] writes its pid and
// start time into the file, so that a refused acquire can say who holds it.
// [LockFile] locks a file the caller already has open (a column file, say)
// without writing to it; on Linux the holder's pid is then read from
// /proc/locks.
//
// # Caveats
//
//   - flock locks belong to an open file description: two opens of the same
//     path in one process exclude each other, which is what the library wants
//     (one writer per file, even within a process). A refusal by another
//     handle of the same process says so ([LockedError.SameProcess]): no
//     timeout helps there, only closing or using that handle.
//   - Locks are advisory: a program that does not call flock is not stopped.
//   - A lock held by a process that dies, even by SIGKILL, is released by the
//     kernel; the pid left in the file is then stale and is ignored.
//   - flock over NFS is emulated with POSIX locks on some kernels; do not put
//     a table on a network file system.
package lockfile
