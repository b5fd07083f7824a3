package table_test

import "syscall"

// threadFaults counts the page faults the calling thread has taken, minor
// and major (RUSAGE_THREAD); lock the goroutine to its thread around it.
func threadFaults() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru); err != nil {
		return 0
	}
	return ru.Minflt + ru.Majflt
}
