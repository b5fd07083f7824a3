package colset_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence/internal/colfile"
	"github.com/mmapvec/persistence/internal/colset"
	"github.com/mmapvec/persistence/internal/errs"
	"github.com/mmapvec/persistence/internal/layout"
	"github.com/mmapvec/persistence/internal/rowcodec"
)

type rec struct {
	A int64
	B [3]byte
	C float32
	D uint16
}

// open makes a set of one column per field of rec, in a temporary
// directory.
func open(t *testing.T) *colset.Set {
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
	return s
}

func TestCodecRoundTrips(t *testing.T) {
	s := open(t)
	m := rowcodec.New[rec](s.Columns(), []int{0, 8, 12, 16}, nil)
	require.Equal(t, 8+3+4+2, m.PackedSize())
	rows := make([]rec, 5000)
	for i := range rows {
		rows[i] = rec{A: int64(i), B: [3]byte{byte(i), 1, 2}, C: float32(i) / 2, D: uint16(i)}
	}
	require.NoError(t, s.Grow(len(rows)))
	m.Refresh() // the files grew: map them again
	m.Put(0, &rows[0])
	m.PutColumns(1, rows[1:100])
	require.NoError(t, m.WriteRows(100, rows[100:], make([]byte, 1000)), "a small staging buffer: many blocks")
	s.Publish(len(rows), "")

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
	s := open(t)
	cols := s.Columns()
	a, err := colset.NewView[int64](cols[0])
	require.NoError(t, err)
	_, err = colset.NewView[uint64](cols[0])
	require.ErrorIs(t, err, errs.ErrElemType, "same size, other kind")
	_, err = colset.NewView[[4]byte](cols[1])
	require.ErrorIs(t, err, errs.ErrElemType)
	require.Nil(t, a.Slice())
	require.NoError(t, s.Grow(3))
	s.Publish(3, "")
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
	off, ok := rowcodec.Offset(func(r *rec) *float32 { return &r.C })
	require.True(t, ok)
	require.EqualValues(t, 12, off)
	var elsewhere float32
	_, ok = rowcodec.Offset(func(*rec) *float32 { return &elsewhere })
	require.False(t, ok)
}

func panicText(f func()) (msg string) {
	defer func() { msg = fmt.Sprint(recover()) }()
	f()
	return "no panic"
}

// Close closes every view: Len 0, Slice nil,
// and element access panics saying closed, not "index out of range".
func TestClosedLength(t *testing.T) {
	s := open(t)
	a := s.Columns()[0]
	require.NoError(t, s.Grow(3))
	s.Publish(3, "")
	v, err := colset.NewView[int64](a)
	require.NoError(t, err)
	v.Set(2, 7)
	require.Equal(t, int64(7), v.Get(2))
	require.False(t, a.Closed())
	require.Equal(t, `column "A": Get: index out of range [3] with length 3`, panicText(func() { v.Get(3) }))
	require.Equal(t, `column "A": Set: index out of range [-1] with length 3`, panicText(func() { v.Set(-1, 0) }))

	require.NoError(t, s.Close())
	require.True(t, a.Closed())
	require.Equal(t, 0, a.Len())
	require.Equal(t, 0, v.Len())
	require.Nil(t, v.Slice())
	require.Equal(t, `column "A": Get on a closed table`, panicText(func() { v.Get(0) }))
	require.Equal(t, `column "A": Set on a closed table`, panicText(func() { v.Set(0, 1) }))
	require.Equal(t, `column "A": ElemBytes on a closed table`, panicText(func() { a.ElemBytes(0) }))
}
