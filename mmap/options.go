package mmap

import "time"

// Options configure [Open]. nil means the zero value, and the zero value of
// every field is a sensible default.
type Options struct {
	// Tag is a user tag stored in the header (the seed crate's 8 magic
	// bytes); opening a file with another tag fails with [ErrTag].
	Tag [8]byte
	// DataVersion is the user's version of the element type; opening a file
	// with another one fails with [ErrDataVersion].
	DataVersion uint32
	// ReadOnly maps the file PROT_READ under a shared lock and never writes.
	// A missing file is then an error rather than created.
	ReadOnly bool
	// LockTimeout is how long to wait for a lock held elsewhere; 0 fails at once.
	LockTimeout time.Duration
}
