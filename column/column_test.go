package column_test

import (
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence/column"
	"github.com/mmapvec/persistence/mmap"
)

type rec struct {
	A int64
	B [3]byte
	C float32
	D uint16
}

// open makes one column per field of rec, in a temporary directory.
func open(t *testing.T) ([]*column.Column, *atomic.Int64) {
	t.Helper()
	var length atomic.Int64
	var cols []*column.Column
	for name, l := range map[string]func() (mmap.Layout, error){
		"A": mmap.LayoutFor[int64], "B": mmap.LayoutFor[[3]byte], "C": mmap.LayoutFor[float32], "D": mmap.LayoutFor[uint16],
	} {
		layout, err := l()
		require.NoError(t, err)
		raw, err := mmap.OpenRaw(filepath.Join(t.TempDir(), name+".col"), layout, nil)
		require.NoError(t, err)
		t.Cleanup(func() { _ = raw.Close() })
		cols = append(cols, column.New(name, raw, &length))
	}
	// Order the columns as the fields.
	order := map[string]int{"A": 0, "B": 1, "C": 2, "D": 3}
	sorted := make([]*column.Column, 4)
	for _, c := range cols {
		sorted[order[c.Name()]] = c
	}
	return sorted, &length
}

func TestMoverRoundTrips(t *testing.T) {
	cols, length := open(t)
	m := column.NewMover[rec](cols, []int{0, 8, 12, 16})
	require.Equal(t, 8+3+4+2, m.PackedSize())
	rows := make([]rec, 5000)
	for i := range rows {
		rows[i] = rec{A: int64(i), B: [3]byte{byte(i), 1, 2}, C: float32(i) / 2, D: uint16(i)}
	}
	for _, c := range cols {
		require.NoError(t, c.Raw().Reserve(len(rows)))
	}
	m.Refresh() // the files grew: map them again
	m.Put(0, &rows[0])
	for k := range cols {
		m.PutColumn(k, 1, rows[1:100])
	}
	require.NoError(t, m.WriteRows(100, rows[100:], make([]byte, 1000)), "a small staging buffer: many blocks")
	for _, c := range cols {
		c.Raw().SetLen(len(rows))
	}
	length.Store(int64(len(rows)))

	var got rec
	for _, i := range []int{0, 1, 99, 100, 4999} {
		m.Get(i, &got)
		require.Equal(t, rows[i], got, "row %d", i)
	}
	packed := make([]byte, m.PackedSize())
	m.PackRow(packed, 7)
	m.UnpackRow(8, packed)
	m.Get(8, &got)
	require.Equal(t, rows[7], got)
	m.Pack(packed, &rows[9])
	m.UnpackRow(8, packed)
	m.Get(8, &got)
	require.Equal(t, rows[9], got)

	require.Error(t, m.WriteRows(0, rows, make([]byte, 4)), "a buffer smaller than a row")
}

func TestViews(t *testing.T) {
	cols, length := open(t)
	a, err := column.View[int64](cols[0])
	require.NoError(t, err)
	_, err = column.View[uint64](cols[0])
	require.ErrorIs(t, err, column.ErrType, "same size, other kind")
	_, err = column.View[[4]byte](cols[1])
	require.ErrorIs(t, err, column.ErrType)
	require.Nil(t, a.Slice())
	require.NoError(t, cols[0].Raw().Reserve(3))
	cols[0].Raw().SetLen(3)
	length.Store(3)
	a.Set(2, 42)
	require.Equal(t, []int64{0, 0, 42}, a.Slice())
	require.Equal(t, int64(42), a.Get(2))
	require.Panics(t, func() { a.Get(3) })
	n := 0
	for i, x := range a.All() {
		require.Equal(t, a.Get(i), x)
		n++
	}
	require.Equal(t, 3, n)
}

func TestOffset(t *testing.T) {
	off, ok := column.Offset(func(r *rec) *float32 { return &r.C })
	require.True(t, ok)
	require.EqualValues(t, 12, off)
	var elsewhere float32
	_, ok = column.Offset(func(*rec) *float32 { return &elsewhere })
	require.False(t, ok)
}
