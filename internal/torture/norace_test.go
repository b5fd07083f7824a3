//go:build !race

package torture_test

// raceEnabled reports whether the suite runs under the race detector.
const raceEnabled = false
