package table

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/mmapvec/persistence/internal/bootid"
	"github.com/mmapvec/persistence/internal/crashpoint"
)

// faultRow is the fault tests' row: two columns, so that a fault in the second
// leaves a row half written.
type faultRow struct{ A, B int64 }

// faultTable makes a table of n rows {i, i}, synced, without the
// pretoucher (its atomic stores would fault under -race, in C).
func faultTable(t *testing.T, n int) (string, *Table[faultRow]) {
	dir := filepath.Join(t.TempDir(), "t")
	tb, err := Open[faultRow](dir, noPretouch)
	require.NoError(t, err)
	for i := range n {
		require.NoError(t, tb.Append(faultRow{int64(i), int64(i)}))
	}
	require.NoError(t, tb.Sync())
	return dir, tb
}

// TestStoreFaultIsErrFault plays the fault a full btrfs raises (SIGBUS at
// a store into a page it cannot give) with a column mapped read-only: the
// store faults, SetRow returns ErrFault, the table is poisoned, readers
// are told to wait, and the next open finishes the journaled SetRow.
func TestStoreFaultIsErrFault(t *testing.T) {
	dir, tb := faultTable(t, 1000)
	p, n := tb.set.Columns()[1].File().Mapped() // B: written after A
	data := unsafe.Slice((*byte)(p), n)
	require.NoError(t, unix.Mprotect(data, unix.PROT_READ))
	err := tb.SetRow(3, faultRow{-3, -3})
	require.ErrorIs(t, err, ErrFault)
	require.ErrorIs(t, err, ErrPoisoned)
	require.Equal(t, uint64(1), tb.readers.load(rdSeq)&1, "readers wait: a row may be half written")
	require.ErrorIs(t, tb.Append(faultRow{}), ErrPoisoned)
	require.NoError(t, unix.Mprotect(data, unix.PROT_READ|unix.PROT_WRITE))
	require.NoError(t, tb.Close())

	tb, err = Open[faultRow](dir, nil)
	require.NoError(t, err)
	defer tb.Close()
	require.Equal(t, 1000, tb.Len())
	require.Equal(t, faultRow{-3, -3}, tb.Row(3), "the journaled SetRow is finished: %s", tb.Recovered())
	require.Equal(t, faultRow{4, 4}, tb.Row(4))
}

// TestUpdateFaultKeepsReadersWaiting: a store through a slice faults
// inside Update. The readers' sequence count goes odd once and stays odd:
// never even, even for an instant, over the half-written row.
func TestUpdateFaultKeepsReadersWaiting(t *testing.T) {
	_, tb := faultTable(t, 100)
	defer tb.Close()
	a, err := Column[int64](tb, "A")
	require.NoError(t, err)
	b, err := Column[int64](tb, "B")
	require.NoError(t, err)
	before := tb.readers.load(rdSeq)
	require.Zero(t, before&1)
	err = tb.Update(func() error {
		a.Slice()[7] = -7
		protectFile(t, "B.col", unix.PROT_READ)
		b.Slice()[7] = -7
		return nil
	})
	protectFile(t, "B.col", unix.PROT_READ|unix.PROT_WRITE)
	require.ErrorIs(t, err, ErrFault)
	require.ErrorIs(t, tb.Append(faultRow{}), ErrPoisoned)
	require.Equal(t, before+1, tb.readers.load(rdSeq), "the count went odd once, and was never made even")
}

// TestUpdateInnerFaultKeepsReadersWaiting: SetRow, called inside
// Update, faults and returns ErrFault (its own guard caught the fault, so
// no panic reaches Update). The count must stay odd all the same.
func TestUpdateInnerFaultKeepsReadersWaiting(t *testing.T) {
	_, tb := faultTable(t, 100)
	defer tb.Close()
	a, err := Column[int64](tb, "A")
	require.NoError(t, err)
	before := tb.readers.load(rdSeq)
	var inner error
	err = tb.Update(func() error {
		a.Slice()[6] = -6
		protectFile(t, "B.col", unix.PROT_READ)
		inner = tb.SetRow(7, faultRow{-7, -7}) // faults at B
		return inner
	})
	protectFile(t, "B.col", unix.PROT_READ|unix.PROT_WRITE)
	require.ErrorIs(t, inner, ErrFault)
	require.ErrorIs(t, err, ErrFault)
	require.Equal(t, before+1, tb.readers.load(rdSeq), "readers keep waiting: rows 6 and 7 are half changed")
}

// noPretouch keeps the pretoucher off the pages a test makes unwritable.
var noPretouch = &Options{NoPretouch: true}

// protectFile maps every writable mapping of the file named name (found in
// /proc/self/maps) with prot, as a full btrfs makes its pages unwritable.
func protectFile(t *testing.T, name string, prot int) {
	f, err := os.Open("/proc/self/maps")
	require.NoError(t, err)
	defer f.Close()
	found := false
	for sc := bufio.NewScanner(f); sc.Scan(); {
		fs := strings.Fields(sc.Text())
		if len(fs) < 6 || !strings.HasSuffix(fs[5], "/"+name) || !strings.HasPrefix(fs[1], "rw") && prot != unix.PROT_READ|unix.PROT_WRITE {
			continue
		}
		a := strings.SplitN(fs[0], "-", 2)
		lo, _ := strconv.ParseUint(a[0], 16, 64)
		hi, _ := strconv.ParseUint(a[1], 16, 64)
		_, _, e := unix.Syscall(unix.SYS_MPROTECT, uintptr(lo), uintptr(hi-lo), uintptr(prot))
		require.Zero(t, e)
		found = true
	}
	require.True(t, found, "no mapping of %s", name)
}

// TestFaultInRedoIsNotCommitted: a Delete faults half way, and so does its
// redo at the next open (the disk is still full). That failed open must
// not checkpoint at its Close (which would commit the half-moved rows and
// make the intent stale); the open after it finishes the Delete.
func TestFaultInRedoIsNotCommitted(t *testing.T) {
	dir, tb := faultTable(t, 10)
	require.NoError(t, tb.Append(faultRow{10, 10}))
	require.NoError(t, tb.Sync()) // logged: Close and recovery checkpoint it
	faultAt := func(point string) {
		n := 0
		crashpoint.SetHook(func(name string) {
			if name == point {
				if n++; n == 1 {
					protectFile(t, "B.col", unix.PROT_READ)
				}
			}
		})
	}
	faultAt("table.delete.moved")
	err := tb.Delete(2)
	crashpoint.SetHook(nil)
	protectFile(t, "B.col", unix.PROT_READ|unix.PROT_WRITE)
	require.ErrorIs(t, err, ErrFault)
	require.NoError(t, tb.Close())

	bootid.Override("after a restart")
	defer bootid.Override("")
	faultAt("table.recover.redo")
	_, err = Open[faultRow](dir, nil)
	crashpoint.SetHook(nil)
	require.ErrorIs(t, err, ErrFault, "the redo faults too")

	bootid.Override("after another restart")
	tb, err = Open[faultRow](dir, nil)
	require.NoError(t, err)
	defer tb.Close()
	want := []faultRow{{0, 0}, {1, 1}}
	for i := 3; i <= 10; i++ {
		want = append(want, faultRow{int64(i), int64(i)})
	}
	got := make([]faultRow, tb.Len())
	for i := range got {
		got[i] = tb.Row(i)
	}
	require.Equal(t, want, got, "the Delete finished: %s", tb.Recovered())
}

// BenchmarkAppendGuard is the cost of the guard (fault.go) that every
// Append pays on a copy-on-write file system: Append's fast path against
// its guarded, checked path, into 4,096 rows kept in cache.
func BenchmarkAppendGuard(b *testing.B) {
	type row struct{ A, B, C, D int64 }
	for _, cow := range []bool{false, true} {
		b.Run(map[bool]string{false: "fast", true: "guarded"}[cow], func(b *testing.B) {
			tb, err := Open[row](filepath.Join(b.TempDir(), "t"), noPretouch)
			require.NoError(b, err)
			defer tb.Close()
			require.NoError(b, tb.AppendRows(make([]row, 4096)))
			tb.cow = cow
			b.ResetTimer()
			for i := range b.N {
				if i&4095 == 0 {
					b.StopTimer()
					require.NoError(b, tb.Truncate(0))
					tb.minCap = tb.fastLimit()
					b.StartTimer()
				}
				if err := tb.Append(row{A: int64(i)}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
