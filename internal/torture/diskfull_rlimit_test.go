//go:build unix && !freebsd

package torture_test

import "syscall"

// setFileSizeLimit sets RLIMIT_FSIZE (uint64 fields here, int64 on FreeBSD).
func setFileSizeLimit(limit uint64) error {
	return syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: limit, Max: limit})
}
