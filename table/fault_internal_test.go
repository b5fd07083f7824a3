package table

import (
	"path/filepath"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestStoreFaultIsErrFault plays the fault a full btrfs raises (SIGBUS at
// a store into a page it cannot give) with a column mapped read-only: the
// store faults, SetRow returns ErrFault, the table is poisoned, readers
// are told to wait, and the next open finishes the journaled SetRow.
func TestStoreFaultIsErrFault(t *testing.T) {
	type row struct{ A, B int64 }
	dir := filepath.Join(t.TempDir(), "t")
	tb, err := Open[row](dir, nil)
	require.NoError(t, err)
	for i := range 1000 {
		require.NoError(t, tb.Append(row{int64(i), int64(i)}))
	}
	require.NoError(t, tb.Sync())
	p, n := tb.set.Columns()[1].File().Mapped() // B: written after A
	data := unsafe.Slice((*byte)(p), n)
	require.NoError(t, unix.Mprotect(data, unix.PROT_READ))
	err = tb.SetRow(3, row{-3, -3})
	require.ErrorIs(t, err, ErrFault)
	require.ErrorIs(t, err, ErrPoisoned)
	require.Equal(t, uint64(1), tb.readers.load(rdSeq)&1, "readers wait: a row may be half written")
	require.ErrorIs(t, tb.Append(row{}), ErrPoisoned)
	require.NoError(t, unix.Mprotect(data, unix.PROT_READ|unix.PROT_WRITE))
	require.NoError(t, tb.Close())

	tb, err = Open[row](dir, nil)
	require.NoError(t, err)
	defer tb.Close()
	require.Equal(t, 1000, tb.Len())
	require.Equal(t, row{-3, -3}, tb.Row(3), "the journaled SetRow is finished: %s", tb.Recovered())
	require.Equal(t, row{4, 4}, tb.Row(4))
}
