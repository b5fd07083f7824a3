package rowcodec_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence/internal/colfile"
	"github.com/mmapvec/persistence/internal/colset"
	"github.com/mmapvec/persistence/internal/layout"
	"github.com/mmapvec/persistence/internal/rowcodec"
)

// rec has fields of 8, 3, 4 and 2 bytes (each copy path) and one the
// columns do not hold (Skip).
type rec struct {
	A    int64
	B    [3]byte
	C    float32
	D    uint16
	Skip int64
}

func newCodec(t *testing.T, rows []rec) *rowcodec.Codec[rec] {
	t.Helper()
	dir := t.TempDir()
	var specs []colset.Spec
	for _, c := range []struct {
		name string
		l    func() (layout.Layout, error)
	}{{"A", layout.For[int64]}, {"B", layout.For[[3]byte]}, {"C", layout.For[float32]}, {"D", layout.For[uint16]}} {
		l, err := c.l()
		require.NoError(t, err)
		specs = append(specs, colset.Spec{Name: c.name, Path: filepath.Join(dir, c.name+".col"), Layout: l})
	}
	s, err := colset.Open(specs, colfile.Options{Create: true})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	require.NoError(t, s.Grow(len(rows)))
	m := rowcodec.New[rec](s.Columns(), []int{0, 8, 12, 16}, nil)
	m.PutColumns(0, rows)
	s.Publish(len(rows), "")
	return m
}

// GetRows is Get for every row, across the blocks it scatters in; the
// field without a column is left alone, and Covers says it exists.
func TestGetRows(t *testing.T) {
	rows := make([]rec, 3000) // several 16 KiB blocks of 32-byte records
	for i := range rows {
		rows[i] = rec{A: int64(i) * 7, B: [3]byte{byte(i), byte(i >> 8), 9}, C: float32(i) / 4, D: uint16(i * 3)}
	}
	m := newCodec(t, rows)
	require.False(t, m.Covers(), "Skip and padding are not in any column")

	for _, c := range []struct{ at, n int }{{0, 3000}, {1, 5}, {999, 1001}, {2999, 1}, {0, 0}} {
		got := make([]rec, c.n)
		for i := range got {
			got[i].Skip = 42
		}
		m.GetRows(c.at, got)
		for i, r := range got {
			want := rows[c.at+i]
			want.Skip = 42
			require.Equal(t, want, r, "row %d", c.at+i)
			var one rec
			m.Get(c.at+i, &one)
			require.Equal(t, rows[c.at+i], one)
		}
	}
}
