package table_test

import (
	"encoding/binary"
	"path/filepath"
	"strings"
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

// A reader's Memory covers the values its writer set in place since the
// reader last followed an append: they are published before a row points
// at them, with no new row count.
func TestMemorySetRow(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t")
	w := mustOpen[memRow](t, dir, nil)
	require.NoError(t, w.AppendRows([]memRow{{1, "a", "DE"}, {2, "b", "FR"}}))
	r := mustOpen[table.Any](t, dir, &table.Options{ReadOnly: true})
	require.NoError(t, r.Refresh())
	require.NoError(t, w.SetRow(1, memRow{3, "a longer value", "JP"}))
	require.NoError(t, r.Consistent(func() error {
		m, err := r.Memory("URL", 2)
		require.NoError(t, err)
		start, end := binary.NativeEndian.Uint64(m.Elems[16:]), binary.NativeEndian.Uint64(m.Elems[24:])
		require.Equal(t, "a longer value", string(m.Heap[start:end]))
		m, err = r.Memory("Country", 2)
		require.NoError(t, err)
		code := binary.NativeEndian.Uint32(m.Elems[4:])
		require.Len(t, m.Ends, 3)
		require.Equal(t, "JP", string(m.Heap[m.Ends[code-2]:m.Ends[code-1]]))
		return nil
	}))
}

// A reader reads a string that its writer set in place past the reader's
// mapping of the heap (the heap's file grew for it) as "": Refresh takes
// in the heap's growth only with a new row count.
func TestReaderSetRowPastHeapMapping(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t")
	w := mustOpen[memRow](t, dir, nil)
	require.NoError(t, w.Append(memRow{1, "a", "DE"}))
	r := mustOpen[memRow](t, dir, &table.Options{ReadOnly: true})
	require.NoError(t, r.Refresh())
	long := strings.Repeat("x", 4<<20) // past the heap file's capacity: it grows
	require.NoError(t, w.SetRow(0, memRow{1, long, "DE"}))
	got, err := r.RowConsistent(0)
	require.NoError(t, err)
	require.Len(t, got.URL, len(long))
}

// On a reader whose writer added symbols since the reader followed the
// dictionary, the dictionary's published ends may run past the bytes the
// reader maps. Memory gives only the entries whose bytes Heap holds, and
// every code of the rows the reader shows among them. Guards a bug in
// which Ends ran past Heap, and Heap[Ends[c-2]:Ends[c-1]] panicked.
func TestMemoryDictionaryEndsWithinHeapOnAReader(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t")
	w := mustOpen[memRow](t, dir, nil)
	require.NoError(t, w.Append(memRow{N: 0, Country: "a"}))
	r := mustOpen[memRow](t, dir, &table.Options{ReadOnly: true})
	for i := range 10 {
		require.NoError(t, w.Append(memRow{N: int32(i + 1), Country: table.Symbol(strings.Repeat("x", 10_000+i))}))
	}
	for _, refresh := range []bool{false, true} {
		if refresh {
			require.NoError(t, r.Refresh())
		}
		m, err := r.Memory("Country", r.Len())
		require.NoError(t, err)
		require.NotEmpty(t, m.Ends)
		require.LessOrEqual(t, m.Ends[len(m.Ends)-1], uint64(len(m.Heap)), "refresh %v", refresh)
		codes := make([]uint32, r.Len())
		for i := range codes {
			codes[i] = binary.NativeEndian.Uint32(m.Elems[4*i:])
			require.LessOrEqual(t, int(codes[i]), len(m.Ends), "refresh %v: row %d's code", refresh, i)
		}
		if refresh {
			require.Equal(t, 11, r.Len())
			require.Len(t, m.Ends, 11)
		}
	}
}
