//go:build !race

package realfs_test

const raceEnabled = false
