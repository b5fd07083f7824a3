package table

import (
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/mmapvec/persistence/internal/bootid"
	"github.com/mmapvec/persistence/internal/testseed"
	"github.com/stretchr/testify/require"
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

// TestWALRecordGrowsOnlyByWhatItCarries: a record with a valid checksum
// that claims 2^24 more rows while carrying one element is corrupt, not
// 16M rows of zeros (or, at a larger index, a file of terabytes); one that
// carries every row it adds is replayed.
func TestWALRecordGrowsOnlyByWhatItCarries(t *testing.T) {
	type row struct{ V uint64 }
	dir := filepath.Join(t.TempDir(), "t")
	tb, err := Open[row](dir, nil)
	require.NoError(t, err)
	for i := range 100 {
		require.NoError(t, tb.Append(row{uint64(i)}))
	}
	require.NoError(t, tb.Sync())
	require.NoError(t, tb.Close()) // a checkpoint: the log is spent
	seq, hash := tb.seq, tb.hash
	elems := func(from, n int) []byte {
		b := make([]byte, 0, 8*n)
		for i := range n {
			b = ne.AppendUint64(b, uint64(from+i))
		}
		return b
	}
	withRecord := func(rows uint64, writes ...walWrite) string {
		img := filepath.Join(t.TempDir(), "t")
		require.NoError(t, os.CopyFS(img, os.DirFS(dir)))
		var e walEncoder
		e.begin(seq+1, hash, rows, []uint64{rows}, nil)
		for _, w := range writes {
			e.add(w.file, w.at, w.count, w.data)
		}
		f, err := os.OpenFile(filepath.Join(img, walFile), os.O_RDWR, 0)
		require.NoError(t, err)
		_, err = f.WriteAt(e.end(), walRecordsAt)
		require.NoError(t, errors.Join(err, f.Close()))
		return img
	}
	bootid.Override("after a restart")
	defer bootid.Override("")
	for _, at := range []uint64{1 << 24, 1 << 40} {
		img := withRecord(at+1, walWrite{file: 0, at: at, count: 1, data: elems(7, 1)})
		for _, o := range []*Options{nil, {SavePoint: true}, {ReadOnly: true}} {
			_, err := Open[row](img, o)
			require.ErrorIs(t, err, ErrCorrupt, "a record of one element at %d, options %+v", at, o)
		}
		fi, err := os.Stat(filepath.Join(img, "V.col"))
		require.NoError(t, err)
		require.Less(t, fi.Size(), int64(1<<20), "no file grown for it")
	}
	// A gap between the table's end and the rows carried is the same.
	_, err = Open[row](withRecord(1<<20, walWrite{file: 0, at: 1<<20 - 10, count: 10, data: elems(0, 10)}), nil)
	require.ErrorIs(t, err, ErrCorrupt)
	// Rows carried whole, in two writes, are replayed.
	n := 1 << 16
	re, err := Open[row](withRecord(uint64(n),
		walWrite{file: 0, at: 100, count: uint64(n/2 - 100), data: elems(100, n/2-100)},
		walWrite{file: 0, at: uint64(n / 2), count: uint64(n / 2), data: elems(n/2, n/2)}), nil)
	require.NoError(t, err)
	defer re.Close()
	require.Equal(t, n, re.Len())
	require.Equal(t, 1, re.Recovered().Replayed)
	for _, i := range []int{0, 99, 100, n/2 - 1, n / 2, n - 1} {
		require.Equal(t, row{uint64(i)}, re.Row(i))
	}
}
