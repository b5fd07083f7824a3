package testseed_test

import (
	"testing"

	"github.com/mmapvec/persistence/internal/testseed"
)

func TestSeedReplays(t *testing.T) {
	t.Setenv("PERSIST_SEED", "12345")
	s := testseed.Seed(t)
	if s != 12345 {
		t.Fatalf("seed %d, want PERSIST_SEED's 12345", s)
	}
	a, b := testseed.Rand(s), testseed.Rand(s)
	for range 10 {
		if x, y := a.Uint64(), b.Uint64(); x != y {
			t.Fatalf("two generators of one seed differ: %d, %d", x, y)
		}
	}
}
