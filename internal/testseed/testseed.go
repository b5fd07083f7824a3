// Package testseed gives each randomized test its seed: PERSIST_SEED's
// when that is set, else a new one, logged either way so that a failure
// can be replayed with the same draws.
package testseed

import (
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
)

// Seed returns the seed of a randomized test and logs it.
func Seed(t testing.TB) uint64 {
	t.Helper()
	s := rand.Uint64()
	if env := os.Getenv("PERSIST_SEED"); env != "" {
		var err error
		if s, err = strconv.ParseUint(env, 10, 64); err != nil {
			t.Fatalf("PERSIST_SEED=%q: %v", env, err)
		}
	}
	t.Logf("seed %d (replay with PERSIST_SEED=%d)", s, s)
	return s
}

// Rand returns a generator seeded with s.
func Rand(s uint64) *rand.Rand { return rand.New(rand.NewPCG(s, s^0x9e3779b97f4a7c15)) }
