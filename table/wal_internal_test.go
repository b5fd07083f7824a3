package table

import (
	"math/rand/v2"
	"testing"

	"github.com/mmapvec/persistence/internal/testseed"
)

// TestRangesAdd checks the set of checked ranges against a bitmap.
func TestRangesAdd(t *testing.T) {
	seed := testseed.Seed(t)
	rng := rand.New(rand.NewPCG(seed, 0))
	for round := range 200 {
		var rs ranges
		seen := make([]bool, 64)
		for range 20 {
			lo := uint64(rng.IntN(64))
			hi := lo + uint64(rng.IntN(int(64-lo)+1))
			gaps := rs.add(lo, hi)
			fresh := map[uint64]bool{}
			for _, g := range gaps {
				if g[0] >= g[1] {
					t.Fatalf("round %d: empty gap %v", round, g)
				}
				for x := g[0]; x < g[1]; x++ {
					if fresh[x] {
						t.Fatalf("round %d: element %d in two gaps", round, x)
					}
					fresh[x] = true
				}
			}
			for x := lo; x < hi; x++ {
				if fresh[x] == seen[x] {
					t.Fatalf("round %d: add(%d, %d): element %d reported new=%v, was seen=%v", round, lo, hi, x, fresh[x], seen[x])
				}
				seen[x] = true
			}
			for i := range rs {
				if rs[i][0] >= rs[i][1] || i > 0 && rs[i-1][1] >= rs[i][0] {
					t.Fatalf("round %d: ranges not sorted, disjoint and apart: %v", round, rs)
				}
			}
		}
	}
}
