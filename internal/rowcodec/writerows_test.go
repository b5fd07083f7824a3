package rowcodec_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence/internal/colfile"
	"github.com/mmapvec/persistence/internal/colset"
	"github.com/mmapvec/persistence/internal/errs"
	"github.com/mmapvec/persistence/internal/layout"
	"github.com/mmapvec/persistence/internal/rowcodec"
)

// words has 8-byte fields only (WriteRows gathers them in one pass) and
// one the columns do not hold.
type words struct {
	A, B int64
	Skip uint64
	C    float64
}

func wordsCodec(t *testing.T, n int) (*rowcodec.Codec[words], *colset.Set) {
	t.Helper()
	dir := t.TempDir()
	var specs []colset.Spec
	for _, name := range []string{"A", "B", "C"} {
		l, err := layout.For[int64]()
		require.NoError(t, err)
		specs = append(specs, colset.Spec{Name: name, Path: filepath.Join(dir, name+".col"), Layout: l})
	}
	s, err := colset.Open(specs, colfile.Options{Create: true})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	require.NoError(t, s.Grow(n))
	return rowcodec.New[words](s.Columns(), []int{0, 8, 24}, nil), s
}

// WriteRows puts what PutColumns puts, for one block, several (the
// pipeline of two goroutines) and a last partial one, with fields of
// 8 bytes only (one pass) and of every size (a pass per column).
func TestWriteRows(t *testing.T) {
	for _, c := range []struct{ at, n, stage int }{
		{0, 10, 1 << 10}, {3, 100, 1 << 10}, {0, 1000, 1 << 10}, {7, 5000, 4 << 10}, {0, 1, 64},
	} {
		rs := make([]words, c.n)
		for i := range rs {
			rs[i] = words{A: int64(i) + 1, B: -int64(i), Skip: 99, C: float64(i) / 3}
		}
		m, s := wordsCodec(t, c.at+c.n)
		require.NoError(t, m.WriteRows(c.at, rs, make([]byte, c.stage)))
		s.Publish(c.at+c.n, "")
		for i, want := range rs {
			var got words
			m.Get(c.at+i, &got)
			want.Skip = 0
			require.Equal(t, want, got, "%+v: row %d", c, i)
		}

		mixed := make([]rec, c.n)
		for i := range mixed {
			mixed[i] = rec{A: int64(i) * 7, B: [3]byte{byte(i), byte(i >> 8), 9}, C: float32(i) / 4, D: uint16(i * 3)}
		}
		mc := newCodec(t, make([]rec, c.at+c.n))
		require.NoError(t, mc.WriteRows(c.at, mixed, make([]byte, c.stage)))
		for i, want := range mixed {
			var got rec
			mc.Get(c.at+i, &got)
			require.Equal(t, want, got, "%+v: mixed row %d", c, i)
		}
	}
}

// A staging buffer that cannot hold two rows is an error, not a hang.
func TestWriteRowsSmallStage(t *testing.T) {
	m, _ := wordsCodec(t, 10)
	require.Error(t, m.WriteRows(0, make([]words, 10), make([]byte, 40)))
}

// A write that fails part way through the pipeline stops it and returns
// the error (the files are closed here: every write fails).
func TestWriteRowsError(t *testing.T) {
	m, s := wordsCodec(t, 5000)
	require.NoError(t, s.Close())
	err := m.WriteRows(0, make([]words, 5000), make([]byte, 1<<10))
	require.ErrorIs(t, err, errs.ErrClosed)
}
