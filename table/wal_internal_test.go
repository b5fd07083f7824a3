package table

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mmapvec/persistence/internal/bootid"
	"github.com/stretchr/testify/require"
)

// TestReaderVerifiesManyWritesQuickly: a reader after a restart checks
// that the files hold what the log's records wrote. A log of 100,000
// one-element writes in descending order (the order that made the check
// quadratic) is checked in one sweep; a file that differs from the last
// write to an element is ErrNeedsRecovery.
func TestReaderVerifiesManyWritesQuickly(t *testing.T) {
	type row struct{ V uint64 }
	const n = 100_000
	dir := filepath.Join(t.TempDir(), "t")
	tb, err := Open[row](dir, nil)
	require.NoError(t, err)
	for i := range n {
		require.NoError(t, tb.Append(row{uint64(i)}))
	}
	require.NoError(t, tb.Sync())
	require.NoError(t, tb.Close())
	seq, hash := tb.seq, tb.hash
	elem := func(v uint64) []byte { return ne.AppendUint64(nil, v) }
	var e walEncoder
	e.begin(seq+1, hash, n, []uint64{n}, nil)
	for i := n - 1; i >= 0; i-- {
		e.add(0, uint64(i), 1, elem(uint64(i)))
	}
	e.add(0, 7, 1, elem(7)) // the same element again, later: it wins
	rec := e.end()
	write := func(rec []byte) {
		f, err := os.OpenFile(filepath.Join(dir, walFile), os.O_RDWR, 0)
		require.NoError(t, err)
		_, err = f.WriteAt(rec, walRecordsAt)
		require.NoError(t, errors.Join(err, f.Close()))
	}
	write(rec)
	bootid.Override("after a restart")
	defer bootid.Override("")
	start := time.Now()
	r, err := Open[row](dir, &Options{ReadOnly: true})
	require.NoError(t, err)
	t.Logf("a reader checked %d writes in %v", n+1, time.Since(start))
	require.Equal(t, n, r.Len())
	require.NoError(t, r.Close())

	e.begin(seq+1, hash, n, []uint64{n}, nil)
	e.add(0, 7, 1, elem(7))
	e.add(0, 7, 1, elem(8)) // the last write to element 7 is not what the file holds
	write(e.end())
	_, err = Open[row](dir, &Options{ReadOnly: true})
	require.ErrorIs(t, err, ErrNeedsRecovery)
}

// TestWALRecordGrowsOnlyByWhatItCarries: a record with a valid checksum
// that claims 2^24 more rows while carrying one element is corrupt, not
// 16M rows of zeros (or, at a larger index, a file of terabytes); one that
// carries every row it adds is replayed.
func TestWALRecordGrowsOnlyByWhatItCarries(t *testing.T) {
	type row struct{ V uint64 }
	dir := filepath.Join(t.TempDir(), "t")
	tb, err := Open[row](dir, nil)
	require.NoError(t, err)
	for i := range 100 {
		require.NoError(t, tb.Append(row{uint64(i)}))
	}
	require.NoError(t, tb.Sync())
	require.NoError(t, tb.Close()) // a checkpoint: the log is spent
	seq, hash := tb.seq, tb.hash
	elems := func(from, n int) []byte {
		b := make([]byte, 0, 8*n)
		for i := range n {
			b = ne.AppendUint64(b, uint64(from+i))
		}
		return b
	}
	withRecord := func(rows uint64, writes ...walWrite) string {
		img := filepath.Join(t.TempDir(), "t")
		require.NoError(t, os.CopyFS(img, os.DirFS(dir)))
		var e walEncoder
		e.begin(seq+1, hash, rows, []uint64{rows}, nil)
		for _, w := range writes {
			e.add(w.file, w.at, w.count, w.data)
		}
		f, err := os.OpenFile(filepath.Join(img, walFile), os.O_RDWR, 0)
		require.NoError(t, err)
		_, err = f.WriteAt(e.end(), walRecordsAt)
		require.NoError(t, errors.Join(err, f.Close()))
		return img
	}
	bootid.Override("after a restart")
	defer bootid.Override("")
	for _, at := range []uint64{1 << 24, 1 << 40} {
		img := withRecord(at+1, walWrite{file: 0, at: at, count: 1, data: elems(7, 1)})
		for _, o := range []*Options{nil, {SavePoint: true}, {ReadOnly: true}} {
			_, err := Open[row](img, o)
			require.ErrorIs(t, err, ErrCorrupt, "a record of one element at %d, options %+v", at, o)
		}
		fi, err := os.Stat(filepath.Join(img, "V.col"))
		require.NoError(t, err)
		require.Less(t, fi.Size(), int64(1<<20), "no file grown for it")
	}
	// A gap between the table's end and the rows carried is the same.
	_, err = Open[row](withRecord(1<<20, walWrite{file: 0, at: 1<<20 - 10, count: 10, data: elems(0, 10)}), nil)
	require.ErrorIs(t, err, ErrCorrupt)
	// Rows carried whole, in two writes, are replayed.
	n := 1 << 16
	re, err := Open[row](withRecord(uint64(n),
		walWrite{file: 0, at: 100, count: uint64(n/2 - 100), data: elems(100, n/2-100)},
		walWrite{file: 0, at: uint64(n / 2), count: uint64(n / 2), data: elems(n/2, n/2)}), nil)
	require.NoError(t, err)
	defer re.Close()
	require.Equal(t, n, re.Len())
	require.Equal(t, 1, re.Recovered().Replayed)
	for _, i := range []int{0, 99, 100, n/2 - 1, n / 2, n - 1} {
		require.Equal(t, row{uint64(i)}, re.Row(i))
	}
}

// TestReaderMetaReadsOnlyAfterASync: a reader beside a running writer reads
// the writer's meta from COMMIT and the log only when the READERS page
// counts a Sync since its last call. Without COMMIT (moved away for the
// test) a read fails and Meta falls back to the reader's own meta (none:
// a reader beside a writer takes its rows from the page), so what Meta
// returns tells whether it read the files.
func TestReaderMetaReadsOnlyAfterASync(t *testing.T) {
	type row struct{ V uint64 }
	dir := filepath.Join(t.TempDir(), "t")
	tb, err := Open[row](dir, nil)
	require.NoError(t, err)
	defer tb.Close()
	require.NoError(t, tb.Append(row{1}))
	require.NoError(t, tb.SyncMeta([]byte("A")))
	r, err := Open[row](dir, &Options{ReadOnly: true})
	require.NoError(t, err)
	defer r.Close()
	require.Equal(t, SourcePublished, r.Recovered().Source)

	require.Nil(t, r.meta)
	commit, away := filepath.Join(dir, commitFile), filepath.Join(dir, "COMMIT.away")
	withoutCommit := func() []byte {
		require.NoError(t, os.Rename(commit, away))
		defer func() { require.NoError(t, os.Rename(away, commit)) }()
		return r.Meta()
	}
	require.Empty(t, withoutCommit(), "no Meta call yet: read, failed, fell back")

	require.NoError(t, tb.SyncMeta([]byte("B")))
	require.Equal(t, "B", string(r.Meta()))
	require.Equal(t, "B", string(withoutCommit()), "no Sync since: the meta read last")

	require.NoError(t, tb.Append(row{2}))
	require.NoError(t, tb.SyncMeta([]byte("C")))
	require.Equal(t, "C", string(r.Meta()))
	require.NoError(t, tb.Sync()) // keeps the meta; counted all the same
	require.Empty(t, withoutCommit(), "a Sync since: read")
	require.Equal(t, "C", string(r.Meta()))

	// Logged Syncs: each read starts where the last one ended.
	last := r.writersMeta
	require.NotZero(t, last.commit)
	for i := range 3 {
		require.NoError(t, tb.Append(row{uint64(3 + i)}))
		require.NoError(t, tb.SyncMeta(fmt.Appendf(nil, "C%d", i)))
	}
	require.Equal(t, "C2", string(r.Meta()))
	require.Equal(t, last.commit, r.writersMeta.commit, "the Syncs were logged")
	require.Greater(t, r.writersMeta.end, last.end)
	require.Equal(t, last.next+3, r.writersMeta.next)
	// A checkpoint starts the chain over: the next read starts from it.
	require.NoError(t, tb.checkpoint([]byte("C3")))
	require.Equal(t, "C3", string(r.Meta()))
	require.Greater(t, r.writersMeta.commit, last.commit)
	require.Equal(t, int64(walRecordsAt), r.writersMeta.end)
	require.NoError(t, tb.SyncMeta([]byte("C4")))
	require.Equal(t, "C4", string(r.Meta()))

	// A writer of an earlier version claims the page: it moves the epoch
	// and leaves the count of the writer before it, which then tells
	// nothing. Every call reads.
	epoch := tb.readers.load(rdEpoch)
	tb.readers.store(rdEpoch, epoch+1)
	_, counted := r.readers.syncKey()
	require.False(t, counted)
	require.Equal(t, "C4", string(r.Meta()))
	require.Empty(t, withoutCommit(), "an uncounted page: read")
	tb.readers.store(rdEpoch, epoch)
	_, counted = r.readers.syncKey()
	require.True(t, counted)

	// A writer of this version that opens after a close counts anew.
	require.NoError(t, tb.Close())
	tb, err = Open[row](dir, nil)
	require.NoError(t, err)
	require.NoError(t, tb.SyncMeta([]byte("D")))
	r2, err := Open[row](dir, &Options{ReadOnly: true})
	require.NoError(t, err)
	defer r2.Close()
	require.Equal(t, "D", string(r2.Meta()))
	require.NoError(t, tb.SyncMeta([]byte("E")))
	require.Equal(t, "E", string(r2.Meta()))
}

// TestReaderMetaBesideAnEarlierWriterAfterReboot: the READERS page survives
// a reboot on disk with the Sync count of this version's last writer. A
// writer of an earlier version, which knows neither word, claims it in
// the next boot (epoch 1 again, a new boot id) and leaves both as they
// were; a reader must not take that count for the writer's, or its Meta
// would keep the first meta it read. The earlier writer is played by
// this version's, with both words put back as the earlier one leaves them.
func TestReaderMetaBesideAnEarlierWriterAfterReboot(t *testing.T) {
	type row struct{ V uint64 }
	dir := filepath.Join(t.TempDir(), "t")
	defer bootid.Override("")
	bootid.Override("boot-1")
	w, err := Open[row](dir, nil)
	require.NoError(t, err)
	require.NoError(t, w.Append(row{1}))
	require.NoError(t, w.SyncMeta([]byte("boot 1")))
	syncs, tag := w.readers.load(rdSyncs), w.readers.load(rdSyncsOf)
	require.Equal(t, uint64(1), w.readers.load(rdEpoch))
	require.NoError(t, w.Close())

	bootid.Override("boot-2")
	old, err := Open[row](dir, nil)
	require.NoError(t, err)
	defer old.Close()
	require.Equal(t, uint64(1), old.readers.load(rdEpoch))
	earlier := func() { old.readers.store(rdSyncs, syncs); old.readers.store(rdSyncsOf, tag) }
	earlier()
	require.NoError(t, old.Append(row{2}))
	require.NoError(t, old.SyncMeta([]byte("boot 2: a")))
	earlier()
	r, err := Open[row](dir, &Options{ReadOnly: true})
	require.NoError(t, err)
	defer r.Close()
	require.Equal(t, SourcePublished, r.Recovered().Source)
	_, counted := r.readers.syncKey()
	require.False(t, counted, "the count of the last boot's writer taken for this one's")
	require.Equal(t, "boot 2: a", string(r.Meta()))
	require.NoError(t, old.SyncMeta([]byte("boot 2: b")))
	earlier()
	require.Equal(t, "boot 2: b", string(r.Meta()))
}
