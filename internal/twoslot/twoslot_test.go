package twoslot_test

import (
	"testing"

	"github.com/mmapvec/persistence/internal/twoslot"
)

func TestNewer(t *testing.T) {
	cases := []struct {
		ok0, ok1     bool
		seq0, seq1   uint64
		idx          int
		fallback, ok bool
	}{
		{true, true, 2, 1, 0, false, true},
		{true, true, 1, 2, 1, false, true},
		{true, false, 1, 9, 0, true, true},
		{false, true, 9, 1, 1, true, true},
		{false, false, 1, 2, 0, true, false},
	}
	for _, c := range cases {
		idx, fb, ok := twoslot.Newer(c.ok0, c.ok1, c.seq0, c.seq1)
		if idx != c.idx || fb != c.fallback || ok != c.ok {
			t.Errorf("Newer(%v, %v, %d, %d) = %d, %v, %v; want %d, %v, %v",
				c.ok0, c.ok1, c.seq0, c.seq1, idx, fb, ok, c.idx, c.fallback, c.ok)
		}
	}
}

func TestSumCoversIndex(t *testing.T) {
	b := []byte("a commit record")
	if twoslot.Sum(0, b) == twoslot.Sum(1, b) {
		t.Fatal("a slot copied to the other place would pass")
	}
	if twoslot.Sum(0, b) != twoslot.Sum(0, []byte("a commit record")) {
		t.Fatal("Sum is not a function of its input")
	}
}
