//go:build unix && !linux

package fsutil

import "os"

// Allocate extends f to at least off+n by writing zeros: without
// fallocate(2) this is how a full disk shows up as an error now rather
// than as a SIGBUS when a page of a mapping of the range is touched.
func Allocate(f *os.File, off, n int64) error { return WriteZeros(f, off, n) }

// FillHoles does nothing without fallocate(2): zeros cannot be written
// over the data a hole sits between.
func FillHoles(f *os.File, off, n int64) error { return nil }
