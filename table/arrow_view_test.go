package table_test

import (
	"encoding/binary"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence/table"
)

type memRow struct {
	N       int32
	URL     string
	Country table.Symbol
}

// Memory gives a column's stored bytes without a copy: the elements of
// rows [0, n), a string column's heap, a symbol column's dictionary.
func TestMemory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t")
	w := mustOpen[memRow](t, dir, nil)
	require.NoError(t, w.AppendRows([]memRow{{1, "a", "DE"}, {2, "", "FR"}, {3, "bcd", "DE"}, {4, "e", ""}}))
	r := mustOpen[table.Any](t, dir, &table.Options{ReadOnly: true})
	require.NoError(t, r.Refresh())

	m, err := r.Memory("n", 3)
	require.NoError(t, err)
	require.Equal(t, "N", m.Spec.Name)
	require.Len(t, m.Elems, 12)
	require.Equal(t, uint32(3), binary.NativeEndian.Uint32(m.Elems[8:]))
	require.Nil(t, m.Heap)

	m, err = r.Memory("URL", 4)
	require.NoError(t, err)
	require.Len(t, m.Elems, 4*16)
	start, end := binary.NativeEndian.Uint64(m.Elems[32:]), binary.NativeEndian.Uint64(m.Elems[40:])
	require.Equal(t, "bcd", string(m.Heap[start:end]))

	m, err = r.Memory("Country", 4)
	require.NoError(t, err)
	require.Len(t, m.Ends, 2)
	code := binary.NativeEndian.Uint32(m.Elems[4:])
	require.Equal(t, uint32(2), code)
	require.Equal(t, "FR", string(m.Heap[m.Ends[code-2]:m.Ends[code-1]]))
	require.Equal(t, uint32(0), binary.NativeEndian.Uint32(m.Elems[12:]))

	m, err = r.Memory("N", 0)
	require.NoError(t, err)
	require.Nil(t, m.Elems)
	_, err = r.Memory("N", 5)
	require.ErrorIs(t, err, table.ErrRange)
	_, err = r.Memory("nope", 1)
	require.ErrorIs(t, err, table.ErrNoColumn)
	require.NoError(t, r.Close())
	_, err = r.Memory("N", 1)
	require.ErrorIs(t, err, table.ErrClosed)
}
