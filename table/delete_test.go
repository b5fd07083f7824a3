package table_test

import (
	"encoding/binary"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/mmapvec/persistence/internal/bootid"
	"github.com/mmapvec/persistence/table"
)

// rowsOf reads every row of tb.
func rowsOf[R any](t *testing.T, tb *table.Table[R]) []R {
	t.Helper()
	out := make([]R, tb.Len())
	n, err := tb.ReadRows(out, 0)
	require.NoError(t, err)
	require.Equal(t, len(out), n)
	return out
}

func particles(ids ...int) []Particle {
	out := make([]Particle, 0, len(ids))
	for _, i := range ids {
		out = append(out, p(i))
	}
	return out
}

func seq(from, to int) []int {
	var out []int
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

func TestDeleteKeepsOrder(t *testing.T) {
	dir := t.TempDir()
	tb := mustOpen[Particle](t, dir, nil)
	require.NoError(t, tb.AppendRows(particles(seq(0, 10)...)))

	require.NoError(t, tb.Delete(3))
	require.Equal(t, particles(append(seq(0, 3), seq(4, 10)...)...), rowsOf(t, tb))
	require.NoError(t, tb.Delete(0), "the first row")
	require.NoError(t, tb.Delete(tb.Len()-1), "the last row: nothing moves")
	require.Equal(t, particles(1, 2, 4, 5, 6, 7, 8), rowsOf(t, tb))

	require.ErrorIs(t, tb.Delete(7), table.ErrRange)
	require.ErrorIs(t, tb.Delete(-1), table.ErrRange)
	require.Equal(t, 7, tb.Len(), "an index out of range changes nothing")

	// The staged rows past the end are capacity: appends overwrite them.
	require.NoError(t, tb.Append(p(100)))
	require.Equal(t, particles(1, 2, 4, 5, 6, 7, 8, 100), rowsOf(t, tb))
	require.NoError(t, tb.Sync())
	require.NoError(t, tb.Close())
	require.ErrorIs(t, tb.Delete(0), table.ErrClosed)

	tb = mustOpen[Particle](t, dir, nil)
	require.False(t, tb.Recovered().Changed(), "%s", tb.Recovered())
	require.Equal(t, particles(1, 2, 4, 5, 6, 7, 8, 100), rowsOf(t, tb))
}

// A delete near the front of a table whose files are full grows them to
// stage the rows it moves, and the rows survive the growth.
func TestDeleteGrowsToStage(t *testing.T) {
	tb := mustOpen[Particle](t, t.TempDir(), nil)
	for tb.Len() == 0 || table.Columns(tb)[0].Cap > tb.Len() {
		require.NoError(t, tb.Append(p(tb.Len())))
	}
	n := tb.Len()
	require.NoError(t, tb.Delete(1))
	require.Greater(t, table.Columns(tb)[0].Cap, n, "the files grew")
	require.Equal(t, particles(append([]int{0}, seq(2, n)...)...), rowsOf(t, tb))
}

func TestDeleteFunc(t *testing.T) {
	tb := mustOpen[Particle](t, t.TempDir(), nil)
	const n = 20_000 // several blocks
	rows := particles(seq(0, n)...)
	require.NoError(t, tb.AppendRows(rows))

	removed, err := tb.DeleteFunc(func(r Particle) bool { return false })
	require.NoError(t, err)
	require.Zero(t, removed)
	require.Equal(t, n, tb.Len())

	removed, err = tb.DeleteFunc(func(r Particle) bool { return r.ID%3 == 0 || (r.ID > 5000 && r.ID < 9000) })
	require.NoError(t, err)
	var want []Particle
	for _, r := range rows {
		if !(r.ID%3 == 0 || (r.ID > 5000 && r.ID < 9000)) {
			want = append(want, r)
		}
	}
	require.Equal(t, n-len(want), removed)
	require.Equal(t, want, rowsOf(t, tb))

	removed, err = tb.DeleteFunc(func(r Particle) bool { return true })
	require.NoError(t, err)
	require.Equal(t, len(want), removed)
	require.Zero(t, tb.Len())
}

// A func that changes the table's length makes DeleteFunc fail with
// ErrChanged, having changed nothing itself.
func TestDeleteFuncRefusesChanges(t *testing.T) {
	tb := mustOpen[Particle](t, t.TempDir(), nil)
	require.NoError(t, tb.AppendRows(particles(seq(0, 10)...)))
	_, err := tb.DeleteFunc(func(r Particle) bool {
		if r.ID == 2 {
			require.NoError(t, tb.Append(p(99)))
		}
		return r.ID == 1
	})
	require.ErrorIs(t, err, table.ErrChanged)
	require.Equal(t, particles(append(seq(0, 10), 99)...), rowsOf(t, tb))
}

// A memory fault in del's own memory is del's: it reaches the caller as a
// panic (here the caller asked for faults as panics), not as the table's
// ErrFault, and the table stays unchanged and usable.
func TestDeleteFuncFaultInDelIsNotTheTables(t *testing.T) {
	tb := mustOpen[Particle](t, t.TempDir(), nil)
	require.NoError(t, tb.AppendRows(particles(seq(0, 10)...)))
	// A page of the caller's own, beyond the end of its file: a read of
	// it is SIGBUS.
	f, err := os.Create(filepath.Join(t.TempDir(), "user"))
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, f.Truncate(4096))
	mem, err := unix.Mmap(int(f.Fd()), 0, 4096, unix.PROT_READ, unix.MAP_SHARED)
	require.NoError(t, err)
	defer unix.Munmap(mem)
	require.NoError(t, f.Truncate(0))

	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	var got any
	func() {
		defer func() { got = recover() }()
		_, err = tb.DeleteFunc(func(r Particle) bool { return r.ID == 3 && mem[0] == 0 })
	}()
	_, ok := got.(runtime.Error)
	require.True(t, ok, "the fault in del reached the caller as %v (DeleteFunc returned %v)", got, err)
	// qemu-user reports this SIGBUS as a nil dereference, without its
	// address; a native run checks the address too.
	if os.Getenv("PERSIST_TEST_EXEC") == "" {
		fault, ok := got.(interface{ Addr() uintptr })
		require.True(t, ok, "the fault in del reached the caller as %v", got)
		require.Equal(t, uintptr(unsafe.Pointer(&mem[0])), fault.Addr())
	}
	require.Equal(t, particles(seq(0, 10)...), rowsOf(t, tb))
	require.NoError(t, tb.Append(p(10)))
	require.NoError(t, tb.Sync())
	removed, err := tb.DeleteFunc(func(r Particle) bool { return r.ID == 3 })
	require.NoError(t, err)
	require.Equal(t, 1, removed)
}

func TestDeleteReadOnlyAndAny(t *testing.T) {
	dir := t.TempDir()
	tb := mustOpen[Particle](t, dir, nil)
	require.NoError(t, tb.AppendRows(particles(0, 1, 2)))
	require.NoError(t, tb.Close())

	ro := mustOpen[Particle](t, dir, &table.Options{ReadOnly: true})
	require.ErrorIs(t, ro.Delete(0), table.ErrReadOnly)
	_, err := ro.DeleteFunc(func(Particle) bool { return true })
	require.ErrorIs(t, err, table.ErrReadOnly)
	require.NoError(t, ro.Close())

	anyT := mustOpen[table.Any](t, dir, nil)
	require.ErrorIs(t, anyT.Delete(0), table.ErrType)
	require.Equal(t, 3, anyT.Len())
}

// stagedDelete leaves dir as a Delete(first) of rows rows killed right
// after its intent was written: the rows kept after first staged past the
// end, the intent in JOURNAL, nothing moved yet. crcDelta damages the
// intent's checksum of the staged rows (as if they were not what it saw).
func stagedDelete(t *testing.T, dir string, first, rows int, crcDelta uint32) {
	t.Helper()
	tb, err := table.Open[Particle](dir, nil)
	require.NoError(t, err)
	require.NoError(t, tb.AppendRows(particles(seq(0, rows)...)))
	require.NoError(t, tb.Sync())
	// Staged rows as Delete writes them: appended, then the length put back.
	require.NoError(t, tb.AppendRows(particles(seq(first+1, rows)...)))
	require.NoError(t, tb.Truncate(rows))
	require.NoError(t, tb.Close())
	kept := rows - first - 1
	crc := stagedCRCOf(particles(seq(first+1, rows)...)) + crcDelta
	rec := table.EncodeDeleteIntent(4, newestCommitSeq(t, dir, 4), uint64(first), uint64(rows), uint64(kept), crc, particleRowSize)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "JOURNAL"), rec, 0o644))
}

// particleRowSize is Particle's packed row: Pos, Vel, Mass, id.
const particleRowSize = 12 + 12 + 8 + 4

// stagedCRCOf is the staged-rows checksum of rows: CRC-32C of each
// column's elements, column after column in schema order.
func stagedCRCOf(rows []Particle) uint32 {
	var cols [4][]byte
	for _, r := range rows {
		for _, f := range []float32{r.Pos.X, r.Pos.Y, r.Pos.Z} {
			cols[0] = binary.NativeEndian.AppendUint32(cols[0], math.Float32bits(f))
		}
		for _, f := range []float32{r.Vel.X, r.Vel.Y, r.Vel.Z} {
			cols[1] = binary.NativeEndian.AppendUint32(cols[1], math.Float32bits(f))
		}
		cols[2] = binary.NativeEndian.AppendUint64(cols[2], math.Float64bits(r.Mass))
		cols[3] = binary.NativeEndian.AppendUint32(cols[3], r.ID)
	}
	var sum uint32
	for _, c := range cols {
		sum = crc32.Update(sum, crc32.MakeTable(crc32.Castagnoli), c)
	}
	return sum
}

// newestCommitSeq is the sequence number of the newest COMMIT slot of a
// table of ncols columns.
func newestCommitSeq(t *testing.T, dir string, ncols int) uint64 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "COMMIT"))
	require.NoError(t, err)
	size := table.SlotBytes(ncols)
	return max(binary.NativeEndian.Uint64(b[8:]), binary.NativeEndian.Uint64(b[size+8:]))
}

// A Delete intent is redone from the staged rows; after a reboot it is
// redone when it fits the commit and its staged rows are intact, and
// discarded when they are not. In this boot, staged rows that fail their
// checksum are damage.
func TestDeleteRedo(t *testing.T) {
	want := particles(0, 1, 3, 4, 5, 6, 7, 8, 9)
	t.Run("same boot", func(t *testing.T) {
		dir := t.TempDir()
		stagedDelete(t, dir, 2, 10, 0)
		tb := mustOpen[Particle](t, dir, nil)
		require.Equal(t, "Delete(2) of 10 rows", tb.Recovered().Intent)
		require.Equal(t, want, rowsOf(t, tb))
	})
	t.Run("read-only", func(t *testing.T) {
		dir := t.TempDir()
		stagedDelete(t, dir, 2, 10, 0)
		_, err := table.Open[Particle](dir, &table.Options{ReadOnly: true})
		require.ErrorIs(t, err, table.ErrNeedsRecovery)
		rep, err := table.Check(dir)
		require.NoError(t, err)
		require.ErrorIs(t, rep.Err(), table.ErrNeedsRecovery, "%s", rep)
	})
	t.Run("reboot", func(t *testing.T) {
		dir := t.TempDir()
		stagedDelete(t, dir, 2, 10, 0)
		bootid.Override("delete redo reboot")
		defer bootid.Override("")
		tb := mustOpen[Particle](t, dir, nil)
		require.Equal(t, "Delete(2) of 10 rows", tb.Recovered().Intent)
		require.Equal(t, want, rowsOf(t, tb))
	})
	t.Run("staged rows damaged", func(t *testing.T) {
		dir := t.TempDir()
		stagedDelete(t, dir, 2, 10, 1)
		before := columnBytes(t, dir)
		_, err := table.Open[Particle](dir, nil)
		require.ErrorIs(t, err, table.ErrCorrupt)
		require.ErrorContains(t, err, "staged rows fail their checksum")
		require.Equal(t, before, columnBytes(t, dir), "nothing moved")
	})
	t.Run("staged rows lost in a reboot", func(t *testing.T) {
		dir := t.TempDir()
		stagedDelete(t, dir, 2, 10, 1)
		bootid.Override("delete redo reboot")
		defer bootid.Override("")
		tb := mustOpen[Particle](t, dir, nil)
		require.Equal(t, "Delete(2) of 10 rows", tb.Recovered().IntentDiscarded)
		require.Equal(t, particles(seq(0, 10)...), rowsOf(t, tb), "the committed rows, untouched")
	})
}

// Hostile delete intents: valid checksums, impossible numbers. Each is
// ErrCorrupt naming JOURNAL, and no column byte changes.
func TestHostileDeleteIntent(t *testing.T) {
	const maxU = ^uint64(0)
	cases := []struct {
		name                    string
		first, rowsBefore, kept uint64
		says                    string
	}{
		{"first past the rows", 10, 10, 0, "first removed row 10"},
		{"first 2^64-1", maxU, 10, 0, "first removed row 18446744073709551615"},
		{"keeps every row after the first", 2, 10, 7 + 1, "8 rows kept after row 2 of 10"},
		{"keeps 2^64-1 rows", 2, 10, maxU, "rows kept after row 2"},
		{"rows before 2^64-1", 0, maxU, 5, "18446744073709551615"},
		{"staged rows past the files", 0, 10, 1 << 40, "rows kept after row 0"},
		{"another row count", 2, 12, 3, "columns hold 10"},
	}
	// Staged rows that start within the files and end past them.
	probe := mustOpen[Particle](t, t.TempDir(), nil)
	require.NoError(t, probe.AppendRows(particles(seq(0, 10)...)))
	minCap := uint64(table.Columns(probe)[0].Cap)
	for _, c := range table.Columns(probe) {
		minCap = min(minCap, uint64(c.Cap))
	}
	cases = append(cases, struct {
		name                    string
		first, rowsBefore, kept uint64
		says                    string
	}{"staged rows end past the files", 5, minCap - 2, 5, "staged rows at row"})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			tb, err := table.Open[Particle](dir, nil)
			require.NoError(t, err)
			require.NoError(t, tb.AppendRows(particles(seq(0, 10)...)))
			require.Equal(t, minCap, uint64(table.Columns(tb)[0].Cap), "same capacity as the probe")
			require.NoError(t, tb.Close())
			rec := table.EncodeDeleteIntent(5, newestCommitSeq(t, dir, 4), c.first, c.rowsBefore, c.kept, 0, particleRowSize)
			require.True(t, table.ReadIntentOK(rec, particleRowSize))
			require.NoError(t, os.WriteFile(filepath.Join(dir, "JOURNAL"), rec, 0o644))
			before := columnBytes(t, dir)
			for _, ro := range []bool{true, false} {
				_, err := table.Open[Particle](dir, &table.Options{ReadOnly: ro})
				require.ErrorIs(t, err, table.ErrCorrupt, "read-only %v", ro)
				require.ErrorContains(t, err, "JOURNAL")
				require.ErrorContains(t, err, c.says)
				require.Equal(t, before, columnBytes(t, dir))
			}
			rep, err := table.Check(dir)
			require.NoError(t, err)
			require.Error(t, rep.Err(), "the check reports it: %s", rep)
		})
	}
}

// A JOURNAL written by the library before stable deletes existed (a
// SwapRemove record whose checksum does not cover bytes 40 to 64, which
// held anything) is still read and redone.
func TestOldJournalStillRedone(t *testing.T) {
	dir := t.TempDir()
	tb, err := table.Open[Particle](dir, nil)
	require.NoError(t, err)
	require.NoError(t, tb.AppendRows(particles(seq(0, 10)...)))
	require.NoError(t, tb.Close())
	last := make([]byte, particleRowSize)
	copy(last, packParticle(p(9)))
	rec := table.EncodeIntent(2, newestCommitSeq(t, dir, 4), 4, 10, last)
	for i := 40; i < 64; i++ {
		rec[i] = 0xa5 // not covered by the old checksum
	}
	require.True(t, table.ReadIntentOK(rec, particleRowSize))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "JOURNAL"), rec, 0o644))
	tb = mustOpen[Particle](t, dir, nil)
	require.Equal(t, "SwapRemove(4) of 10 rows", tb.Recovered().Intent)
	require.Equal(t, particles(0, 1, 2, 3, 9, 5, 6, 7, 8), rowsOf(t, tb))
}

// packParticle is r in packed form: each column's element bytes in schema
// order.
func packParticle(r Particle) []byte {
	var b []byte
	for _, f := range []float32{r.Pos.X, r.Pos.Y, r.Pos.Z, r.Vel.X, r.Vel.Y, r.Vel.Z} {
		b = binary.NativeEndian.AppendUint32(b, math.Float32bits(f))
	}
	b = binary.NativeEndian.AppendUint64(b, math.Float64bits(r.Mass))
	return binary.NativeEndian.AppendUint32(b, r.ID)
}

// A del that compacts the table (no length change) or changes a row in
// place makes DeleteFunc fail with ErrChanged: the rows it staged past the
// last row may be gone or stale. Guards a bug in which a Compact inside
// del cut the staged rows and DeleteFunc then moved zeros into the kept
// rows.
func TestDeleteFuncRefusesCompactAndChangesInPlace(t *testing.T) {
	const n = 20_000
	for _, change := range []string{"Compact", "SetRow", "Sync"} {
		tb := mustOpen[Particle](t, t.TempDir(), nil)
		require.NoError(t, tb.AppendRows(particles(seq(0, n)...)))
		require.NoError(t, tb.Sync())
		done := false
		_, err := tb.DeleteFunc(func(r Particle) bool {
			if r.ID == n/2 && !done {
				done = true
				switch change {
				case "Compact":
					require.NoError(t, tb.Compact())
				case "SetRow":
					require.NoError(t, tb.SetRow(n-1, p(n-1)))
				case "Sync":
					require.NoError(t, tb.Sync())
				}
			}
			return r.ID == 0
		})
		require.ErrorIs(t, err, table.ErrChanged, change)
		require.Equal(t, particles(seq(0, n)...), rowsOf(t, tb), change)
		// Called again without the change, it removes the row.
		removed, err := tb.DeleteFunc(func(r Particle) bool { return r.ID == 0 })
		require.NoError(t, err, change)
		require.Equal(t, 1, removed, change)
		require.Equal(t, particles(seq(1, n)...), rowsOf(t, tb), change)
		require.NoError(t, tb.Close())
	}
}
