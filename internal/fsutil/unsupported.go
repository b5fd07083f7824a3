//go:build !unix

package fsutil

// The library needs a Unix system: it maps files with mmap(2), locks them
// with flock(2) and makes them durable with fdatasync(2), and a Windows port
// would need MapViewOfFile, LockFileEx and FlushFileBuffers in their place
// (see the README). Until one exists, a build for another system stops
// here, with this name as the error.
var _ = persistence_needs_unix_mmap_flock_fdatasync_windows_is_not_supported
