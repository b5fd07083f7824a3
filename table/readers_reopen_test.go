// Readers beside writers that come and go: a table no writer opened yet,
// a writer that reopened with a schema change or after a removal, and one
// killed; and the meta a reader reads beside a running writer.

package table_test

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence/internal/testproc"
	"github.com/mmapvec/persistence/table"
)

// A reader of a table that no writer has opened yet (a Snapshot's copy)
// must not keep a writer out: "a writer opens while readers read".
func TestReaderOfNewTableLetsWriterIn(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t")
	snap := filepath.Join(t.TempDir(), "snap")
	w, err := table.Open[Particle](dir, nil)
	require.NoError(t, err)
	require.NoError(t, w.AppendRows(particles(seq(0, 10)...)))
	require.NoError(t, w.Snapshot(snap))
	require.NoError(t, w.Close())

	r, err := table.Open[Particle](snap, &table.Options{ReadOnly: true})
	require.NoError(t, err)
	defer r.Close()
	require.Equal(t, 10, r.Len())

	w2, err := table.Open[Particle](snap, nil)
	require.NoError(t, err, "a writer must open beside a reader")
	defer w2.Close()
	require.NoError(t, w2.Append(p(10)))
	require.NoError(t, r.Refresh())
	require.Equal(t, 11, r.Len())
}

type metaV1 struct {
	A int64
	B int64
}

type metaV2 struct {
	A int64
	B int64
	C int64
}

// A SyncedOnly reader beside a writer that reopened with an added column
// (which does not wait for readers): after Refresh, Meta must be the meta of
// the rows it shows.
func TestReaderMetaAfterAddColumn(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t")
	w, err := table.Open[metaV1](dir, nil)
	require.NoError(t, err)
	require.NoError(t, w.Append(metaV1{1, 1}))
	require.NoError(t, w.SyncMeta([]byte("m1")))

	r, err := table.Open[metaV1](dir, &table.Options{ReadOnly: true, SyncedOnly: true})
	require.NoError(t, err)
	defer r.Close()
	require.Equal(t, 1, r.Len())
	require.Equal(t, "m1", string(r.Meta()))
	require.NoError(t, w.Close())

	w2, err := table.Open[metaV2](dir, nil)
	require.NoError(t, err)
	defer w2.Close()
	require.NoError(t, w2.Append(metaV2{2, 2, 2}))
	require.NoError(t, w2.SyncMeta([]byte("m2")))

	require.NoError(t, r.Refresh())
	require.Equal(t, 2, r.Len())
	require.Equal(t, "m2", string(r.Meta()), "the meta of the rows the reader shows")
}

// The meta committed by SyncMeta survives a schema change (an added column).
func TestMetaSurvivesAddColumn(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t")
	w, err := table.Open[metaV1](dir, nil)
	require.NoError(t, err)
	require.NoError(t, w.Append(metaV1{1, 1}))
	require.NoError(t, w.SyncMeta([]byte("m1")))
	require.NoError(t, w.Close())

	w2, err := table.Open[metaV2](dir, nil)
	require.NoError(t, err)
	require.Equal(t, "m1", string(w2.Meta()))
	require.NoError(t, w2.Append(metaV2{2, 2, 2}))
	require.NoError(t, w2.Sync())
	require.NoError(t, w2.Close())
	w3, err := table.Open[metaV2](dir, nil)
	require.NoError(t, err)
	defer w3.Close()
	require.Equal(t, "m1", string(w3.Meta()))
}

// A SyncedOnly reader's Meta is the meta of the rows it shows, or of a later
// Sync: with a writer whose meta is its row count at each Sync, Meta after a
// Refresh is never below Len.
func TestReaderMetaNotBehindRows(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t")
	w, err := table.Open[metaV1](dir, &table.Options{LogSize: table.MinLogSize})
	require.NoError(t, err)
	require.NoError(t, w.Append(metaV1{0, 0}))
	require.NoError(t, w.SyncMeta([]byte(strconv.Itoa(w.Len()))))
	r, err := table.Open[metaV1](dir, &table.Options{ReadOnly: true, SyncedOnly: true})
	require.NoError(t, err)
	defer r.Close()

	done := make(chan error)
	go func() {
		defer close(done)
		for i := 1; i < 20000; i++ {
			if err := w.Append(metaV1{int64(i), int64(i)}); err != nil {
				done <- err
				return
			}
			if i%7 == 0 {
				if err := w.SyncMeta([]byte(strconv.Itoa(w.Len()))); err != nil {
					done <- err
					return
				}
			}
		}
		done <- w.Close()
	}()
	for checks := 0; ; checks++ {
		select {
		case err := <-done:
			require.NoError(t, err)
			t.Logf("%d checks", checks)
			return
		default:
		}
		require.NoError(t, r.Refresh())
		n := r.Len()
		m, err := strconv.Atoi(string(r.Meta()))
		require.NoError(t, err, "meta %q", r.Meta())
		require.GreaterOrEqual(t, m, n, "Meta is of an older Sync than the rows shown (check %d)", checks)
	}
}

// The same across processes: a reader process (persist head, a dashboard)
// on a snapshot, or on a table just created, keeps every writer out.
func TestReaderProcessOfNewTableLetsWriterIn(t *testing.T) {
	if testproc.Role() == "snapreader" {
		r, err := table.Open[Particle](os.Getenv("PERSIST_TEST_DIR"), &table.Options{ReadOnly: true})
		if err != nil {
			testproc.Say("error %v", err)
			testproc.Hang()
		}
		testproc.Say("open %d", r.Len())
		testproc.Hang()
	}
	dir := filepath.Join(t.TempDir(), "t")
	snap := filepath.Join(t.TempDir(), "snap")
	w, err := table.Open[Particle](dir, nil)
	require.NoError(t, err)
	require.NoError(t, w.AppendRows(particles(seq(0, 10)...)))
	require.NoError(t, w.Snapshot(snap))
	require.NoError(t, w.Close())

	c := testproc.Start(t, t.Name(), "snapreader", "PERSIST_TEST_DIR="+snap)
	c.Expect(t, "open 10", 60*time.Second)

	w2, err := table.Open[Particle](snap, &table.Options{LockTimeout: 2 * time.Second})
	require.NoError(t, err, "a writer must open beside a reader in another process")
	require.NoError(t, w2.Close())
}

// TestReaderSyncedOnlyAfterARemoval, across the writer's Close and a new
// writer's Open (or no writer at all): the rows appended after a removal
// were never synced, and a SyncedOnly or SavePoint reader must not show
// them.
func TestReaderSyncedOnlyAfterRemovalAcrossReopen(t *testing.T) {
	for _, remove := range []string{"Truncate", "SwapRemove", "Delete"} {
		for _, reopen := range []bool{false, true} {
			dir := filepath.Join(t.TempDir(), "t")
			w, err := table.Open[Particle](dir, nil)
			require.NoError(t, err)
			require.NoError(t, w.AppendRows(particles(seq(0, 10)...)))
			require.NoError(t, w.Sync())
			switch remove {
			case "Truncate":
				require.NoError(t, w.Truncate(5))
			case "SwapRemove":
				require.NoError(t, w.SwapRemove(2))
			case "Delete":
				require.NoError(t, w.Delete(2))
			}
			left := w.Len()
			require.NoError(t, w.AppendRows(particles(100, 101, 102, 103, 104, 105))) // not synced
			require.NoError(t, w.Close())
			if reopen {
				w, err = table.Open[Particle](dir, nil) // a writer that syncs nothing
				require.NoError(t, err)
			}
			opts := []table.Options{{ReadOnly: true, SyncedOnly: true}}
			if reopen {
				// "On a reader beside a running writer it shows what
				// SyncedOnly shows."
				opts = append(opts, table.Options{ReadOnly: true, SavePoint: true})
			}
			for _, o := range opts {
				r, err := table.Open[Particle](dir, &o)
				require.NoError(t, err)
				for i := range r.Len() {
					if r.Row(i).ID >= 100 {
						t.Errorf("%s, appends, Close (writer reopened: %v): a reader with SyncedOnly=%v SavePoint=%v shows %d rows; row %d (id %d) was appended after the last Sync (%d rows left by the removal)",
							remove, reopen, o.SyncedOnly, o.SavePoint, r.Len(), i, r.Row(i).ID, left)
						break
					}
				}
				require.NoError(t, r.Close())
			}
			if reopen {
				require.NoError(t, w.Close())
			}
		}
	}
}

// The same after kill -9 of the writer: its last Sync committed rows
// 0..9; it then truncated to 5 and appended ids 100..104 without a Sync.
// A SyncedOnly reader must not show ids 100..104.
func TestReaderSyncedOnlyAfterTruncateAndKill9(t *testing.T) {
	if testproc.Role() == "truncwriter" {
		w, err := table.Open[Particle](os.Getenv("PERSIST_TEST_DIR"), nil)
		if err == nil {
			err = w.AppendRows(particles(seq(0, 10)...))
		}
		if err == nil {
			err = w.Sync()
		}
		if err == nil {
			err = w.Truncate(5)
		}
		if err == nil {
			err = w.AppendRows(particles(100, 101, 102, 103, 104))
		}
		if err != nil {
			testproc.Say("error %v", err)
		}
		testproc.Say("done")
		testproc.Hang()
	}
	dir := filepath.Join(t.TempDir(), "t")
	c := testproc.Start(t, t.Name(), "truncwriter", "PERSIST_TEST_DIR="+dir)
	c.Expect(t, "done", 60*time.Second)
	c.Kill()
	c.Wait()

	r, err := table.Open[Particle](dir, &table.Options{ReadOnly: true, SyncedOnly: true})
	require.NoError(t, err)
	for i := range r.Len() {
		if r.Row(i).ID >= 100 {
			t.Errorf("SyncedOnly reader after kill -9: row %d of %d (id %d) was appended after the last Sync", i, r.Len(), r.Row(i).ID)
			break
		}
	}
	require.NoError(t, r.Close())

}
