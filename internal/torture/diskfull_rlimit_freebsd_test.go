package torture_test

import "syscall"

// setFileSizeLimit sets RLIMIT_FSIZE; FreeBSD's limits are int64.
func setFileSizeLimit(limit uint64) error {
	return syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: int64(limit), Max: int64(limit)})
}
