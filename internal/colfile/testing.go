//go:build unix

package colfile

import "testing"

// BreakFile closes the descriptor under f so that its next sync fails. It
// panics outside test binaries.
func BreakFile(f *File) {
	if !testing.Testing() {
		panic("colfile: BreakFile outside a test binary")
	}
	_ = f.f.Close()
}

// Mappings returns how many mappings of the file are alive.
func Mappings(f *File) int { return len(f.old) + 1 }
