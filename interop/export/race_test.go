//go:build race

package export_test

// The race detector slows the 1M-row export tenfold: its tests take fewer rows.
const raceEnabled = true
