//go:build !linux

package table_test

// threadFaults is 0 where a thread's page faults are not counted.
func threadFaults() int64 { return 0 }
