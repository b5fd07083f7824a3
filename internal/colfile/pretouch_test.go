//go:build unix

package colfile_test

import (
	"path/filepath"
	"sync"
	"testing"
	"unsafe"

	"github.com/mmapvec/persistence/internal/colfile"
	"github.com/mmapvec/persistence/internal/layout"
)

func openU64(t testing.TB, elems int) *colfile.File {
	t.Helper()
	l, err := layout.For[uint64]()
	if err != nil {
		t.Fatal(err)
	}
	f, err := colfile.Open(filepath.Join(t.TempDir(), "c.col"), l, &colfile.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	if err := f.EnsureCap(elems); err != nil {
		t.Fatal(err)
	}
	return f
}

func elems(f *colfile.File) []uint64 {
	return unsafe.Slice((*uint64)(f.Data()), f.Cap())
}

func TestTouchBounds(t *testing.T) {
	f := openU64(t, 10000)
	_, n := f.Mapped()
	c := n / 8 // the mapping's whole pages: at least Cap
	if c < f.Cap() {
		t.Fatalf("the mapping covers %d elements, fewer than Cap %d", c, f.Cap())
	}
	for _, tc := range []struct{ from, to, want int }{
		{0, 100, 100},
		{100, 100, 100}, // empty
		{200, 100, 200}, // backwards
		{c - 10, c + 5000, c},
		{c + 10, c + 20, c + 10}, // past the mapping: nothing
	} {
		if got := f.Touch(tc.from, tc.to); got != tc.want {
			t.Errorf("Touch(%d, %d) with %d elements mapped = %d, want %d", tc.from, tc.to, c, got, tc.want)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if got := f.Touch(0, 100); got != 0 {
		t.Errorf("Touch after Close = %d, want 0 (nothing touched)", got)
	}
}

// TestTouchKeepsBytes touches pages over and over while another goroutine
// stores into every element of them, the first word of each page
// included: every store must survive (an atomic add of 0 writes back what
// it read, indivisibly).
func TestTouchKeepsBytes(t *testing.T) {
	f := openU64(t, 64<<10)
	s := elems(f)
	const rounds = 4
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			if got := f.Touch(0, len(s)); got != len(s) {
				t.Errorf("Touch(0, %d) = %d", len(s), got)
				return
			}
		}
	}()
	for r := range rounds {
		for i := range s {
			s[i] = uint64(r+1)<<32 | uint64(i)
		}
	}
	close(done)
	wg.Wait()
	for i, v := range s {
		if want := uint64(rounds)<<32 | uint64(i); v != want {
			t.Fatalf("element %d = %#x after touching, want %#x", i, v, want)
		}
	}
}
