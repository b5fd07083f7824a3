package table_test

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence/table"
)

// A reader in the writer's own process: it opens beside the writer, shows
// what was published, and Refresh moves it forward, across growth, with
// views and slices taken before still valid.
func TestReaderBesideWriterSameProcess(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t")
	w := mustOpen[Particle](t, dir, nil)
	require.NoError(t, w.AppendRows(particles(seq(0, 10)...)))

	r := mustOpen[Particle](t, dir, &table.Options{ReadOnly: true})
	require.Equal(t, 10, r.Len())
	require.Equal(t, table.SourcePublished, r.Recovered().Source)
	ids, err := table.Column[uint32](r, "id")
	require.NoError(t, err)
	before := ids.Slice()
	require.Len(t, before, 10)

	// Appends that grow every file several times.
	for i := 10; i < 50_000; i++ {
		require.NoError(t, w.Append(p(i)))
	}
	require.Equal(t, 10, r.Len(), "a reader moves only on Refresh")
	require.NoError(t, r.Refresh())
	require.Equal(t, 50_000, r.Len())
	require.Equal(t, 50_000, ids.Len(), "a view taken before shows the new count")
	require.Equal(t, p(49_999), r.Row(49_999))
	for i, id := range ids.Slice() {
		if id != uint32(i) {
			t.Fatalf("row %d: id %d", i, id)
		}
	}
	require.Equal(t, uint32(9), before[9], "a slice taken before the growth stays valid")

	// Truncate lowers the count a reader sees; files keep their size.
	require.NoError(t, w.Truncate(100))
	require.NoError(t, r.Refresh())
	require.Equal(t, 100, r.Len())
	require.Equal(t, uint32(9), before[9])
}

// SyncedOnly shows the rows as of the writer's last Sync.
func TestReaderSyncedOnly(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t")
	w := mustOpen[Particle](t, dir, nil)
	require.NoError(t, w.AppendRows(particles(seq(0, 10)...)))
	require.NoError(t, w.Sync())
	require.NoError(t, w.AppendRows(particles(seq(10, 20)...)))

	r := mustOpen[Particle](t, dir, &table.Options{ReadOnly: true, SyncedOnly: true})
	require.Equal(t, 10, r.Len())
	require.Equal(t, 10, r.Recovered().CommittedRows)
	all := mustOpen[Particle](t, dir, &table.Options{ReadOnly: true})
	require.Equal(t, 20, all.Len())

	require.NoError(t, w.Sync())
	require.NoError(t, r.Refresh())
	require.Equal(t, 20, r.Len())
}

// Consistent runs its func again when the writer changed rows in place
// while it ran, and once when nothing did.
func TestConsistentRetriesAChangeInPlace(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t")
	w := mustOpen[Particle](t, dir, nil)
	require.NoError(t, w.AppendRows(particles(seq(0, 10)...)))
	r := mustOpen[Particle](t, dir, &table.Options{ReadOnly: true})

	calls := 0
	var got Particle
	require.NoError(t, r.Consistent(func() error {
		calls++
		got = r.Row(3)
		if calls == 1 {
			require.NoError(t, w.SetRow(3, p(33))) // overlaps the first call
		}
		return nil
	}))
	require.Equal(t, 2, calls)
	require.Equal(t, p(33), got)

	calls = 0
	require.NoError(t, r.Consistent(func() error { calls++; return nil }))
	require.Equal(t, 1, calls)

	// An Update spans many writes; nested changes end with it.
	calls = 0
	require.NoError(t, r.Consistent(func() error {
		calls++
		if calls == 1 {
			require.NoError(t, w.Update(func() error {
				require.NoError(t, w.SetRow(1, p(11)))
				require.NoError(t, w.SetRow(2, p(22)))
				return nil
			}))
		}
		return nil
	}))
	require.Equal(t, 2, calls)
	row, err := r.RowConsistent(2)
	require.NoError(t, err)
	require.Equal(t, p(22), row)

	// Truncate inside Consistent: the retry sees the lower count.
	calls = 0
	require.NoError(t, r.Consistent(func() error {
		calls++
		if calls == 1 {
			require.NoError(t, w.Truncate(5))
		}
		return nil
	}))
	require.Equal(t, 5, r.Len())
	_, err = r.RowConsistent(7)
	require.ErrorIs(t, err, table.ErrRange)

	sentinel := errors.New("mine")
	require.ErrorIs(t, r.Consistent(func() error { return sentinel }), sentinel)
	require.ErrorIs(t, w.Update(func() error { return sentinel }), sentinel)
	require.ErrorIs(t, r.Update(func() error { return nil }), table.ErrReadOnly)
}

// Repair cuts files, so it waits for readers, and then names them.
func TestRepairRefusesReaders(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t")
	w, err := table.Open[Particle](dir, nil)
	require.NoError(t, err)
	require.NoError(t, w.AppendRows(particles(seq(0, 10)...)))
	require.NoError(t, w.Close())

	r := mustOpen[Particle](t, dir, &table.Options{ReadOnly: true})
	_, err = table.Repair(dir, nil)
	require.ErrorIs(t, err, table.ErrReaders)
	require.ErrorIs(t, err, table.ErrLocked)
	var re *table.ReadersError
	require.True(t, errors.As(err, &re), "%T", err)
	if _, statErr := os.Stat("/proc/locks"); statErr == nil {
		require.Contains(t, re.PIDs, os.Getpid(), "%v", err)
	}
	require.Equal(t, 10, r.Len())
	require.NoError(t, r.Close())

	rep, err := table.Repair(dir, nil)
	require.NoError(t, err)
	require.Equal(t, 10, rep.Rows)
}

// A removal lowers the row count below the last Sync's: rows appended
// after it are not synced, and a SyncedOnly or SavePoint reader, opened
// after them or refreshed past them, must not show them. Guards a bug in
// which the readers' Sync count stayed at the last Sync's rows, so those
// readers showed the unsynced appends that took the removed rows' places.
func TestReaderSyncedOnlyAfterARemoval(t *testing.T) {
	for _, remove := range []string{"Truncate", "SwapRemove", "Delete", "DeleteFunc"} {
		dir := filepath.Join(t.TempDir(), "t")
		w := mustOpen[Particle](t, dir, nil)
		require.NoError(t, w.AppendRows(particles(seq(0, 10)...)))
		require.NoError(t, w.Sync())
		early := mustOpen[Particle](t, dir, &table.Options{ReadOnly: true, SyncedOnly: true})
		switch remove {
		case "Truncate":
			require.NoError(t, w.Truncate(5))
		case "SwapRemove":
			require.NoError(t, w.SwapRemove(2))
		case "Delete":
			require.NoError(t, w.Delete(2))
		case "DeleteFunc":
			_, err := w.DeleteFunc(func(p Particle) bool { return p.ID%2 == 1 })
			require.NoError(t, err)
		}
		left := w.Len()
		require.NoError(t, w.AppendRows(particles(100, 101, 102, 103, 104, 105))) // not synced
		for _, o := range []table.Options{{ReadOnly: true, SyncedOnly: true}, {ReadOnly: true, SavePoint: true}} {
			r := mustOpen[Particle](t, dir, &o)
			require.Equal(t, left, r.Len(), "%s, then appends: a reader with %+v", remove, o)
			require.NoError(t, r.Close())
		}
		require.NoError(t, early.Refresh())
		require.Equal(t, left, early.Len(), "%s, then appends: a SyncedOnly reader refreshed", remove)
		for i := range early.Len() {
			require.Less(t, early.Row(i).ID, uint32(100), "%s: row %d", remove, i)
		}
		require.NoError(t, w.Sync())
		require.NoError(t, early.Refresh())
		require.Equal(t, left+6, early.Len(), "%s: after the Sync", remove)
		require.NoError(t, early.Close())
		require.NoError(t, w.Close())
	}
}

// strRow is a row with a string column, whose SetRow appends the value to
// the heap and then points the row at it.
type strRow struct {
	K uint64
	S string
}

func strRowOf(k uint64) strRow { return strRow{K: k, S: "value " + strconv.FormatUint(k, 10)} }

// A reader checks its rows' values against the heaps after it reads the
// page: beside a writer that sets string values in place, the check may
// see a row's new value beside the heap's old length. Open and Refresh
// must read again then, not report a healthy table corrupt. Guards a bug
// in which they failed with ErrCorrupt ("the value's end offset lies past
// the bytes of its heap").
func TestReaderBesideSetRowOfStrings(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t")
	w := mustOpen[strRow](t, dir, nil)
	for i := range 2000 {
		require.NoError(t, w.Append(strRowOf(uint64(i))))
	}
	var stop atomic.Bool
	done := make(chan error)
	go func() {
		k := uint64(1 << 20)
		var err error
		for ; err == nil && !stop.Load(); k++ {
			if err = w.SetRow(int(k%uint64(w.Len())), strRowOf(k)); err == nil && k%7 == 0 {
				err = w.Append(strRowOf(k))
			}
		}
		done <- err
	}()
	defer func() {
		stop.Store(true)
		require.NoError(t, <-done)
	}()
	r := mustOpen[strRow](t, dir, &table.Options{ReadOnly: true})
	opens, refreshes := 0, 0
	for start := time.Now(); time.Since(start) < 2*time.Second; {
		if err := r.Refresh(); err != nil && !errors.Is(err, table.ErrBusy) {
			t.Fatalf("after %d refreshes: %v", refreshes, err)
		}
		refreshes++
		if refreshes%50 == 0 {
			o, err := table.Open[strRow](dir, &table.Options{ReadOnly: true})
			if err != nil && !errors.Is(err, table.ErrBusy) {
				t.Fatalf("open %d: %v", opens, err)
			}
			if err == nil {
				require.NoError(t, o.Close())
			}
			opens++
		}
	}
	t.Logf("%d refreshes and %d opens beside the writer's SetRows", refreshes, opens)
}

// A Close inside Update's change, or inside a reader's Consistent read,
// ends the call with ErrClosed (or the callback's own error), not a panic.
// Guards a bug in which both dereferenced the readers' page Close had
// dropped.
func TestCloseInsideUpdateAndConsistent(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t")
	w := mustOpen[Particle](t, dir, nil)
	require.NoError(t, w.AppendRows(particles(seq(0, 10)...)))
	r := mustOpen[Particle](t, dir, &table.Options{ReadOnly: true})
	require.ErrorIs(t, r.Consistent(r.Close), table.ErrClosed)
	require.ErrorIs(t, r.Consistent(func() error { return nil }), table.ErrClosed)
	require.ErrorIs(t, w.Update(w.Close), table.ErrClosed)
	require.ErrorIs(t, w.Append(p(10)), table.ErrClosed)
	// The table opens again with its rows.
	w = mustOpen[Particle](t, dir, nil)
	require.Equal(t, 10, w.Len())
	require.NoError(t, w.Close())
}
