package table_test

import (
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence/internal/testseed"
	"github.com/mmapvec/persistence/table"
)

func TestPretouchWho(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t")
	w := mustOpen[Event](t, dir, nil)
	require.True(t, table.Pretouching(w), "a writer runs a pretoucher")
	r := mustOpen[Event](t, dir, &table.Options{ReadOnly: true})
	require.False(t, table.Pretouching(r), "a reader runs none")

	dir2 := filepath.Join(t.TempDir(), "t")
	off := mustOpen[Event](t, dir2, &table.Options{NoPretouch: true})
	require.False(t, table.Pretouching(off), "NoPretouch")
	require.NoError(t, off.Append(Event{ID: 1}))

	require.NoError(t, w.Close())
	require.False(t, table.Pretouching(w), "Close stops the pretoucher")
}

// TestPretouchRandomOps runs appends of every kind, changes in place,
// Sync and Compact (which cuts the files under a stopped pretoucher and
// starts it again) against a model, with the pretoucher keeping ahead.
func TestPretouchRandomOps(t *testing.T) {
	seed := testseed.Seed(t)
	rng := rand.New(rand.NewPCG(seed, seed))
	dir := filepath.Join(t.TempDir(), "t")
	tb := mustOpen[Event](t, dir, nil)
	var model []Event
	ev := func() Event {
		i := rng.Int64()
		return Event{ID: i, TS: i >> 1, Value: float64(i), Count: uint64(i) | 1}
	}
	for step := range 300 {
		switch op := rng.IntN(20); {
		case op < 10:
			for range rng.IntN(5000) {
				e := ev()
				require.NoError(t, tb.Append(e))
				model = append(model, e)
			}
		case op < 14:
			rs := make([]Event, rng.IntN(10000))
			for i := range rs {
				rs[i] = ev()
			}
			require.NoError(t, tb.AppendRows(rs))
			model = append(model, rs...)
		case op < 16 && len(model) > 0:
			n := rng.IntN(len(model))
			require.NoError(t, tb.Truncate(n))
			model = model[:n]
		case op < 17 && len(model) > 0:
			i := rng.IntN(len(model))
			require.NoError(t, tb.SwapRemove(i))
			model[i] = model[len(model)-1]
			model = model[:len(model)-1]
		case op < 18:
			require.NoError(t, tb.Sync())
		case op < 19 && step%50 == 0:
			require.NoError(t, tb.Compact())
			require.True(t, table.Pretouching(tb), "Compact starts the pretoucher again")
		}
		require.Equal(t, len(model), tb.Len(), "step %d", step)
	}
	got := make([]Event, tb.Len())
	n, err := tb.ReadRows(got, 0)
	require.NoError(t, err)
	require.Equal(t, len(model), n)
	require.Equal(t, model, got)
}
