//go:build race

package realfs_test

// raceEnabled: the race detector runs atomic stores in its C runtime,
// where a fault cannot become a panic (debug.SetPanicOnFault).
const raceEnabled = true
