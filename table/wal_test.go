package table_test

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence/internal/bootid"
	"github.com/mmapvec/persistence/internal/crashpoint"
	"github.com/mmapvec/persistence/internal/testproc"
	"github.com/mmapvec/persistence/table"
)

type walRow struct {
	ID    uint64
	Value float64
	Name  string
	Tag   table.Symbol
}

func walRowOf(i int) walRow {
	return walRow{ID: uint64(i), Value: float64(i) / 2, Name: fmt.Sprintf("name-%d", i), Tag: table.Symbol(fmt.Sprintf("t%d", i%3))}
}

// countPoints counts the crash points f reaches.
func countPoints(f func()) map[string]int {
	var mu sync.Mutex
	seen := map[string]int{}
	crashpoint.SetHook(func(name string) {
		mu.Lock()
		seen[name]++
		mu.Unlock()
	})
	defer crashpoint.SetHook(nil)
	f()
	return seen
}

func TestSyncLogsSmallCommits(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t")
	tb, err := table.Open[walRow](dir, nil)
	require.NoError(t, err)
	defer tb.Close()
	for i := range 50 {
		require.NoError(t, tb.Append(walRowOf(i)))
		if i%7 == 0 {
			require.NoError(t, tb.SetRow(i/2, walRowOf(1000+i)))
		}
		seen := countPoints(func() { require.NoError(t, tb.Sync()) })
		require.Equal(t, 1, seen["table.sync.log"], "Sync %d is logged", i)
		require.Zero(t, seen["table.sync.commit"], "a logged Sync writes no COMMIT")
		require.Zero(t, seen["vec.flush"], "a logged Sync flushes no column")
	}
	require.Zero(t, countPoints(func() { require.NoError(t, tb.Sync()) })["table.wal.create"],
		"the table's creation made its log")

	// An open that did not create the table may inherit rows a killed
	// writer never synced: its first Sync is a checkpoint, which flushes
	// every file.
	require.NoError(t, tb.Close())
	tb, err = table.Open[walRow](dir, nil)
	require.NoError(t, err)
	defer tb.Close()
	require.NoError(t, tb.Append(walRowOf(50)))
	seen := countPoints(func() { require.NoError(t, tb.Sync()) })
	require.Equal(t, 1, seen["table.sync.commit"], "the first Sync of a later open writes COMMIT")
	require.Zero(t, seen["table.sync.log"])
}

// TestSyncReplayAfterRestart: the rows of logged Syncs reach an image of
// the table whose column files lost everything since the last checkpoint;
// Open after a restart applies the log, and Meta comes back.
func TestSyncReplayAfterRestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t")
	tb, err := table.Open[walRow](dir, nil)
	require.NoError(t, err)
	require.NoError(t, tb.Append(walRowOf(0)))
	// The first Sync of an open that did not create the table is a
	// checkpoint.
	require.NoError(t, tb.Close())
	tb, err = table.Open[walRow](dir, nil)
	require.NoError(t, err)
	require.NoError(t, tb.Sync())
	checkpointed := copyTable(t, dir)
	for i := 1; i <= 20; i++ {
		require.NoError(t, tb.Append(walRowOf(i)))
	}
	require.NoError(t, tb.SetRow(0, walRowOf(500)))
	require.NoError(t, tb.SyncMeta([]byte("tick 7")))
	require.NoError(t, tb.SwapRemove(3)) // row 3 is now row 20
	require.NoError(t, tb.Append(walRowOf(21)))
	require.NoError(t, tb.Sync()) // keeps the meta
	want := rowsOf(t, tb)
	require.Equal(t, []byte("tick 7"), tb.Meta())
	require.NoError(t, tb.Append(walRowOf(99))) // never synced
	// The image of a power cut now: the columns as the checkpoint left
	// them, the log and COMMIT as they are.
	img := copyTable(t, checkpointed)
	for _, name := range []string{"WAL", "COMMIT"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(img, name), b, 0o644))
	}
	// Close makes the last Sync the files' own: a checkpoint of it.
	seen := countPoints(func() { require.NoError(t, tb.Close()) })
	require.Equal(t, 1, seen["table.sync.commit"])
	rep, err := table.Check(dir)
	require.NoError(t, err)
	require.Empty(t, rep.Problems, rep.String())
	require.Equal(t, len(want), rep.CommittedRows)
	bootid.Override("after a restart")
	defer bootid.Override("")

	// A reader finds the files short of the log: it cannot apply it.
	_, err = table.Open[walRow](img, &table.Options{ReadOnly: true})
	require.ErrorIs(t, err, table.ErrNeedsRecovery)

	re, err := table.Open[walRow](img, nil)
	require.NoError(t, err)
	require.Equal(t, 2, re.Recovered().Replayed, re.Recovered().String())
	require.Equal(t, want, rowsOf(t, re))
	require.Equal(t, []byte("tick 7"), re.Meta())
	require.NoError(t, re.Close())

	// Once applied, a reader opens too, and so does the closed table
	// after the restart, as of its last Sync (the append after it is gone).
	ro, err := table.Open[walRow](img, &table.Options{ReadOnly: true})
	require.NoError(t, err)
	require.Equal(t, want, rowsOf(t, ro))
	require.NoError(t, ro.Close())
	ro, err = table.Open[walRow](dir, &table.Options{ReadOnly: true})
	require.NoError(t, err)
	require.Equal(t, want, rowsOf(t, ro))
	require.Equal(t, []byte("tick 7"), ro.Meta())
	require.NoError(t, ro.Close())
}

func TestSyncMeta(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t")
	tb, err := table.Open[walRow](dir, nil)
	require.NoError(t, err)
	require.Nil(t, tb.Meta())
	require.NoError(t, tb.SyncMeta([]byte("first"))) // a checkpoint
	require.Equal(t, []byte("first"), tb.Meta())
	require.NoError(t, tb.Append(walRowOf(1)))
	require.NoError(t, tb.SyncMeta([]byte("second"))) // logged
	err = tb.SyncMeta(make([]byte, table.MaxSyncMeta+1))
	require.Error(t, err)
	require.Equal(t, []byte("second"), tb.Meta(), "a refused meta changes nothing")
	require.NoError(t, tb.Close())

	tb, err = table.Open[walRow](dir, nil)
	require.NoError(t, err)
	require.Equal(t, []byte("second"), tb.Meta())
	require.NoError(t, tb.Sync()) // a checkpoint keeps it
	require.NoError(t, tb.Close())
	tb, err = table.Open[walRow](dir, nil)
	require.NoError(t, err)
	require.Equal(t, []byte("second"), tb.Meta())
	big := make([]byte, table.MaxSyncMeta)
	big[len(big)-1] = 7
	require.NoError(t, tb.SyncMeta(big))
	require.NoError(t, tb.Close())
	tb, err = table.Open[walRow](dir, nil)
	require.NoError(t, err)
	require.Equal(t, big, tb.Meta())
	require.NoError(t, tb.Close())
}

func TestSavePoint(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t")
	tb, err := table.Open[walRow](dir, nil)
	require.NoError(t, err)
	for i := range 10 {
		require.NoError(t, tb.Append(walRowOf(i)))
	}
	require.NoError(t, tb.Sync())
	for i := 10; i < 15; i++ {
		require.NoError(t, tb.Append(walRowOf(i)))
	}
	require.NoError(t, tb.SyncMeta([]byte("save 15")))
	want := rowsOf(t, tb)
	for i := 15; i < 40; i++ {
		require.NoError(t, tb.Append(walRowOf(i))) // after the save point
	}
	require.NoError(t, tb.Close())

	// The default keeps every completed append.
	re, err := table.Open[walRow](dir, nil)
	require.NoError(t, err)
	require.Equal(t, 40, re.Len())
	require.NoError(t, re.Close())

	sp, err := table.Open[walRow](dir, &table.Options{SavePoint: true})
	require.NoError(t, err)
	require.Equal(t, want, rowsOf(t, sp))
	require.Equal(t, []byte("save 15"), sp.Meta())
	require.Equal(t, 25, sp.Recovered().Dropped, sp.Recovered().String())
	require.NoError(t, sp.Close())
	re, err = table.Open[walRow](dir, nil)
	require.NoError(t, err)
	require.Equal(t, want, rowsOf(t, re), "the dropped rows stay dropped")
	require.NoError(t, re.Close())
}

func TestAppendSyncGroups(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t")
	tb, err := table.Open[walRow](dir, nil)
	require.NoError(t, err)
	const workers, each = 16, 40
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				if err := tb.AppendSync(walRowOf(w*each + i)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, workers*each, tb.Len())
	seen := map[uint64]bool{}
	for _, r := range tb.All() {
		require.Equal(t, walRowOf(int(r.ID)), r)
		seen[r.ID] = true
	}
	require.Len(t, seen, workers*each)
	require.NoError(t, tb.Close())

	// Every row was durable when its call returned: a restart keeps all.
	bootid.Override("after a restart")
	defer bootid.Override("")
	re, err := table.Open[walRow](dir, &table.Options{SavePoint: true})
	require.NoError(t, err)
	require.Equal(t, workers*each, re.Len())
	require.NoError(t, re.Close())
}

func TestAppendSyncFailurePoisons(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t")
	tb, err := table.Open[walRow](dir, nil)
	require.NoError(t, err)
	defer tb.Close()
	require.NoError(t, tb.AppendSync(walRowOf(0))) // the checkpoint
	require.NoError(t, tb.AppendSync(walRowOf(1))) // logged: the log exists
	table.BreakLog(tb)                             // every later write to it fails
	const workers = 8
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() { errs <- tb.AppendSync(walRowOf(10 + w)) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.ErrorIs(t, err, table.ErrPoisoned)
	}
	require.ErrorIs(t, tb.Sync(), table.ErrPoisoned)
	require.ErrorIs(t, tb.Append(walRowOf(99)), table.ErrPoisoned)
}

// TestReadColumn: a read-only view sees every append and change, survives
// growth, refuses Set, and costs a logged Sync no flush of its column (a
// writable view does).
func TestReadColumn(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t")
	tb, err := table.Open[walRow](dir, nil)
	require.NoError(t, err)
	defer tb.Close()
	ids, err := table.ReadColumn[uint64](tb, "ID")
	require.NoError(t, err)
	require.NoError(t, tb.Append(walRowOf(0)))
	require.NoError(t, tb.Sync()) // the checkpoint of the open
	before := ids.Slice()
	for i := 1; i < 5000; i++ { // grows every file several times
		require.NoError(t, tb.Append(walRowOf(i)))
	}
	require.NoError(t, tb.SetRow(0, walRowOf(77)))
	s := ids.Slice()
	require.Len(t, s, 5000)
	require.Equal(t, uint64(77), s[0])
	require.Equal(t, uint64(77), before[0], "a slice taken before growth still shows the file")
	require.Equal(t, uint64(4999), s[4999])
	require.PanicsWithValue(t, `column "ID": Set through a read-only view (table.ReadColumn)`, func() { ids.Set(1, 5) })
	// A store through the slice faults: the mapping is PROT_READ.
	onFault := debug.SetPanicOnFault(true)
	require.Panics(t, func() { s[1] = 5 })
	debug.SetPanicOnFault(onFault)
	require.Equal(t, uint64(1), s[1])

	seen := countPoints(func() {
		require.NoError(t, tb.Append(walRowOf(5000)))
		require.NoError(t, tb.Sync())
	})
	require.Equal(t, 1, seen["table.sync.log"])
	require.Zero(t, seen["vec.flush"], "a read-only view makes a logged Sync flush nothing but the log")

	_, err = table.Column[uint64](tb, "ID") // writable: the next Sync checkpoints, later ones flush ID
	require.NoError(t, err)
	seen = countPoints(func() { require.NoError(t, tb.Sync()) })
	require.Equal(t, 1, seen["table.sync.commit"])
	seen = countPoints(func() {
		require.NoError(t, tb.Append(walRowOf(5001)))
		require.NoError(t, tb.Sync())
	})
	require.Equal(t, 1, seen["table.sync.log"])
	require.Equal(t, 1, seen["vec.flush"], "the writable view's column is flushed at every Sync")
	require.NoError(t, tb.Close())
	require.Nil(t, ids.Slice(), "empty after Close")
}

// TestLogSize checks that Options.LogSize sizes the log, that a full log
// makes a Sync checkpoint and start over, and that sizes out of range are
// refused.
func TestLogSize(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t")
	for _, n := range []int{-1, 1, table.MinLogSize - 1, table.MaxLogSize + 1} {
		_, err := table.Open[walRow](dir, &table.Options{LogSize: n})
		require.ErrorIs(t, err, table.ErrOptions, "LogSize %d", n)
		require.NoDirExists(t, dir, "a refused open makes nothing")
	}
	tb, err := table.Open[walRow](dir, &table.Options{LogSize: table.MinLogSize})
	require.NoError(t, err)
	defer tb.Close()
	logged, checkpoints := 0, 0
	for i := range 400 {
		require.NoError(t, tb.Append(walRowOf(i)))
		seen := countPoints(func() { require.NoError(t, tb.Sync()) })
		logged += seen["table.sync.log"]
		checkpoints += seen["table.sync.commit"]
	}
	fi, err := os.Stat(filepath.Join(dir, "WAL"))
	require.NoError(t, err)
	require.EqualValues(t, 64<<10+table.MinLogSize, fi.Size(), "two 32 KiB meta slots, then LogSize bytes of records")
	// Each record holds a row of about 100 bytes and its header: a
	// 64 KiB log fills every few hundred Syncs.
	require.Greater(t, logged, 100)
	require.Positive(t, checkpoints, "a full log makes the next Sync a checkpoint (the first Sync of the open that created the table is logged)")
	require.NoError(t, tb.Close())
	bootid.Override("after-restart")
	defer bootid.Override("")
	tb, err = table.Open[walRow](dir, &table.Options{LogSize: table.DefaultLogSize})
	require.NoError(t, err)
	defer tb.Close()
	require.Equal(t, 400, tb.Len())
	for i := range 400 {
		require.Equal(t, walRowOf(i), tb.Row(i))
	}
}

// TestWALStaleRecordsPastCheckpoint: a checkpoint starts the log over
// without erasing it, so the records of the epoch before stay past the new
// chain, with older sequence numbers. An image of a power cut then replays
// the new chain alone: up to the record of the last Sync, or, with that
// record torn, none, and in neither case the stale records behind it.
func TestWALStaleRecordsPastCheckpoint(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t")
	tb, err := table.Open[walRow](dir, nil)
	require.NoError(t, err)
	require.NoError(t, tb.Append(walRowOf(0)))
	require.NoError(t, tb.Sync()) // logged: the open created the table
	for i := 1; i <= 5; i++ {     // the old epoch: six records with the first
		require.NoError(t, tb.Append(walRowOf(i)))
		require.NoError(t, tb.Sync())
	}
	old, err := os.ReadFile(filepath.Join(dir, "WAL"))
	require.NoError(t, err)
	const first = 64 << 10 // the record area
	oldEnd := first
	for range 5 {
		oldEnd += int(binary.NativeEndian.Uint64(old[oldEnd+8:])) // a record's size
	}
	require.NoError(t, tb.Close()) // a checkpoint: the log starts over
	tb, err = table.Open[walRow](dir, nil)
	require.NoError(t, err)
	defer tb.Close()
	require.NoError(t, tb.Append(walRowOf(6)))
	require.NoError(t, tb.Sync()) // the first Sync of an open: a checkpoint
	checkpointed := copyTable(t, dir)
	require.NoError(t, tb.SetRow(2, walRowOf(200)))
	require.NoError(t, tb.SyncMeta([]byte("one record")))
	want := rowsOf(t, tb)
	log, err := os.ReadFile(filepath.Join(dir, "WAL"))
	require.NoError(t, err)
	commit, err := os.ReadFile(filepath.Join(dir, "COMMIT"))
	require.NoError(t, err)

	// The new chain is one record, shorter than the old epoch's first five,
	// whose bytes follow it.
	size := int(binary.NativeEndian.Uint64(log[first+8:]))
	require.Less(t, first+size, oldEnd)
	require.Equal(t, old[first+size:oldEnd], log[first+size:oldEnd], "the old epoch's bytes past the new chain")
	require.NotEqual(t, make([]byte, oldEnd-first-size), log[first+size:oldEnd], "stale records, not zeros")

	image := func(log []byte) string {
		img := copyTable(t, checkpointed)
		require.NoError(t, os.WriteFile(filepath.Join(img, "WAL"), log, 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(img, "COMMIT"), commit, 0o644))
		return img
	}
	bootid.Override("after a restart")
	defer bootid.Override("")

	re, err := table.Open[walRow](image(log), nil)
	require.NoError(t, err)
	require.Equal(t, 1, re.Recovered().Replayed, re.Recovered().String())
	require.Equal(t, want, rowsOf(t, re))
	require.Equal(t, []byte("one record"), re.Meta())
	require.NoError(t, re.Close())

	torn := slices.Clone(log)
	torn[first+size/2] ^= 0xff // the live record fails its checksum
	re, err = table.Open[walRow](image(torn), nil)
	require.NoError(t, err)
	require.Zero(t, re.Recovered().Replayed, "nothing past a torn record, the stale ones least of all")
	require.Equal(t, 7, re.Len(), "the rows of the checkpoint")
	require.Equal(t, walRowOf(2), re.Row(2))
	require.NoError(t, re.Close())
}

// metaCrashChild opens the table, appends a row, and commits it with
// SyncMeta(PERSIST_TEST_META), or with Sync when that is empty; a crash
// point set by the parent kills it part way.
func metaCrashChild() {
	tb, err := table.Open[walRow](os.Getenv("PERSIST_TEST_DIR"), nil)
	if err != nil {
		testproc.Say("error %v", err)
		os.Exit(1)
	}
	if err := tb.Append(walRowOf(tb.Len())); err != nil {
		testproc.Say("error %v", err)
		os.Exit(1)
	}
	if m := os.Getenv("PERSIST_TEST_META"); m != "" {
		err = tb.SyncMeta([]byte(m))
	} else {
		err = tb.Sync()
	}
	testproc.Say("synced %v", err)
	os.Exit(1)
}

// tableWithMetaA makes a closed table of one row whose Sync committed
// the meta "A", and returns its directory.
func tableWithMetaA(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "t")
	tb, err := table.Open[walRow](dir, nil)
	require.NoError(t, err)
	require.NoError(t, tb.Append(walRowOf(0)))
	require.NoError(t, tb.SyncMeta([]byte("A")))
	require.NoError(t, tb.Close())
	return dir
}

// TestMetaOfCheckpointKilledBeforeCommit: a checkpoint writes its meta
// slot before COMMIT. Killed in between, that slot is newer than the
// commit: it must never become the meta, and the next checkpoints must not
// write over the slot that holds the committed one.
func TestMetaOfCheckpointKilledBeforeCommit(t *testing.T) {
	if testproc.Role() == "metacrash" {
		metaCrashChild()
	}
	dir := tableWithMetaA(t)
	kill := func(meta string) {
		c := testproc.Start(t, t.Name(), "metacrash", "PERSIST_TEST_DIR="+dir, "PERSIST_TEST_META="+meta,
			"PERSIST_CRASH_NAME=table.sync.commit", "PERSIST_CRASH_AT=1")
		require.Equal(t, -1, c.Wait(), "the child is killed before COMMIT: %q", c.Lines())
	}
	metaOf := func(o *table.Options) string {
		tb, err := table.Open[walRow](dir, o)
		require.NoError(t, err)
		defer tb.Close()
		return string(tb.Meta())
	}
	kill("never committed") // the first Sync of an open is a checkpoint
	require.Equal(t, "A", metaOf(nil))
	kill("") // and again, with the meta it carries
	for _, o := range []*table.Options{nil, {SavePoint: true}, {ReadOnly: true}} {
		require.Equal(t, "A", metaOf(o), "options %+v", o)
	}
	kill("never committed")
	tb, err := table.Open[walRow](dir, nil)
	require.NoError(t, err)
	require.NoError(t, tb.Sync())
	require.NoError(t, tb.Close())
	require.Equal(t, "A", metaOf(nil), "a plain checkpoint after the killed one")
}

// TestMetaInALogCutShort: a log cut short (here to nothing, and into its
// second meta slot) still takes the meta of the checkpoints that follow.
func TestMetaInALogCutShort(t *testing.T) {
	for _, size := range []int64{0, 100, 40_000} {
		dir := tableWithMetaA(t)
		require.NoError(t, os.Truncate(filepath.Join(dir, "WAL"), size))
		tb, err := table.Open[walRow](dir, nil)
		require.NoError(t, err)
		require.NoError(t, tb.Sync()) // a checkpoint, which makes the log anew
		fi, err := os.Stat(filepath.Join(dir, "WAL"))
		require.NoError(t, err)
		require.Equal(t, int64(2*32768+table.DefaultLogSize), fi.Size(), "log cut to %d bytes: made anew", size)
		require.NoError(t, tb.Append(walRowOf(1)))
		require.NoError(t, tb.SyncMeta([]byte("B")))
		wal, err := os.ReadFile(filepath.Join(dir, "WAL"))
		require.NoError(t, err)
		require.Equal(t, uint32(0x31524c57), binary.NativeEndian.Uint32(wal[65536:]), "log cut to %d bytes: the next Sync is logged", size)
		require.NoError(t, tb.Append(walRowOf(2)))
		require.NoError(t, tb.SyncMeta([]byte("C")))
		require.NoError(t, tb.Close())
		for _, boot := range []string{"", "after a restart"} {
			bootid.Override(boot)
			tb, err = table.Open[walRow](dir, nil)
			require.NoError(t, err)
			require.Equal(t, 3, tb.Len(), "log cut to %d bytes, boot %q", size, boot)
			require.Equal(t, "C", string(tb.Meta()), "log cut to %d bytes, boot %q", size, boot)
			require.NoError(t, tb.Close())
		}
		bootid.Override("")
	}
}

// TestReaderBesideWriterMetaAndSavePoint: a reader beside a running writer
// reads the meta of the writer's latest Sync, and a save point shows the
// rows of that Sync, as SyncedOnly does.
func TestReaderBesideWriterMetaAndSavePoint(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t")
	tb, err := table.Open[walRow](dir, nil)
	require.NoError(t, err)
	defer tb.Close()
	for i := range 100 {
		require.NoError(t, tb.Append(walRowOf(i)))
	}
	require.NoError(t, tb.SyncMeta([]byte("s1"))) // logged
	require.NoError(t, tb.Append(walRowOf(100)))
	require.NoError(t, tb.SyncMeta([]byte("s2")))
	require.NoError(t, tb.Append(walRowOf(101))) // not synced
	for _, o := range []table.Options{{ReadOnly: true}, {ReadOnly: true, SyncedOnly: true}, {ReadOnly: true, SavePoint: true}} {
		r, err := table.Open[walRow](dir, &o)
		require.NoError(t, err)
		want := 101
		if !o.SyncedOnly && !o.SavePoint {
			want = 102
		}
		require.Equal(t, want, r.Len(), "%+v", o)
		require.Equal(t, "s2", string(r.Meta()), "%+v", o)
		require.NoError(t, tb.SyncMeta([]byte("s3"))) // a checkpoint or a record: the reader follows
		require.NoError(t, r.Refresh())
		require.Equal(t, 102, r.Len(), "%+v", o)
		require.Equal(t, "s3", string(r.Meta()), "%+v", o)
		require.NoError(t, r.Close())
		require.NoError(t, tb.SyncMeta([]byte("s2"))) // as before, for the next reader
		require.NoError(t, tb.Truncate(101))
		require.NoError(t, tb.Sync())
		require.NoError(t, tb.Append(walRowOf(101)))
	}
}

// A reader that opened while no writer had the table open follows a writer
// that opens later, from its first Refresh: its Meta is then the meta of
// that writer's latest Sync, the meta of the rows it shows. Guards a bug
// in which Meta kept the meta the reader opened with.
func TestReaderMetaFollowsAWriterThatOpensLater(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t")
	w, err := table.Open[walRow](dir, nil)
	require.NoError(t, err)
	for i := range 10 {
		require.NoError(t, w.Append(walRowOf(i)))
	}
	require.NoError(t, w.SyncMeta([]byte("s1")))
	require.NoError(t, w.Close())

	r, err := table.Open[walRow](dir, &table.Options{ReadOnly: true, SyncedOnly: true})
	require.NoError(t, err)
	defer r.Close()
	require.Equal(t, 10, r.Len())
	require.Equal(t, "s1", string(r.Meta()))

	w, err = table.Open[walRow](dir, nil)
	require.NoError(t, err)
	for i := 10; i < 20; i++ {
		require.NoError(t, w.Append(walRowOf(i)))
	}
	require.NoError(t, w.SyncMeta([]byte("s2")))
	require.NoError(t, r.Refresh())
	require.Equal(t, 20, r.Len(), "the reader follows the writer")
	require.Equal(t, "s2", string(r.Meta()), "the meta of the rows it shows")
	require.NoError(t, w.SyncMeta([]byte("s3")))
	require.Equal(t, "s3", string(r.Meta()))
	require.NoError(t, w.Close())
	require.Equal(t, "s3", string(r.Meta()), "the writer closed: its last Sync's")
}
