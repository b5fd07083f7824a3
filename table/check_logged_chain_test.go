package table

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence/internal/bootid"
	"github.com/mmapvec/persistence/internal/colfile"
)

// loggedCorrupt returns the ErrCorrupt problems Check finds in dir.
func loggedCorrupt(t *testing.T, dir string) []Problem {
	t.Helper()
	rep, err := Check(dir)
	require.NoError(t, err)
	var bad []Problem
	for _, p := range rep.Problems {
		if errors.Is(p, ErrCorrupt) {
			bad = append(bad, p)
		}
	}
	t.Logf("check: problems %v; notes %q", rep.Problems, rep.Notes)
	return bad
}

// TestCheckLoggedGrowthCarriedAcrossRecords: FORMAT.md "WAL", Reading:
// "a length past what the file holds must be reached by the record's own
// writes (so no record grows a file past the bytes it carries)". Check's
// check goes through the records one by one as the open does: a chain
// whose first record grows the file past what it carries, the rest coming
// in a later record, is damage (every open refuses it), as is a record
// that claims 2^30 rows it does not carry, followed by one back at the
// file's length.
func TestCheckLoggedGrowthCarriedAcrossRecords(t *testing.T) {
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
	x, err := colfile.ReadHeaderFacts(filepath.Join(dir, "V.col"))
	require.NoError(t, err)
	c := uint64(x.Capacity)
	elems := func(from, n uint64) []byte {
		b := make([]byte, 0, 8*n)
		for i := range n {
			b = ne.AppendUint64(b, from+i)
		}
		return b
	}
	type rec struct {
		rows   uint64
		writes []walWrite
	}
	withRecords := func(recs ...rec) string {
		img := filepath.Join(t.TempDir(), "t")
		require.NoError(t, os.CopyFS(img, os.DirFS(dir)))
		var all []byte
		for k, r := range recs {
			var e walEncoder
			e.begin(seq+1+uint64(k), hash, r.rows, []uint64{r.rows}, nil)
			for _, w := range r.writes {
				e.add(w.file, w.at, w.count, w.data)
			}
			all = append(all, e.end()...)
		}
		f, err := os.OpenFile(filepath.Join(img, walFile), os.O_RDWR, 0)
		require.NoError(t, err)
		_, err = f.WriteAt(all, walRecordsAt)
		require.NoError(t, errors.Join(err, f.Close()))
		return img
	}
	bootid.Override("after a restart")
	defer bootid.Override("")
	for name, img := range map[string]string{
		"growth carried by the next record": withRecords(
			rec{c + 20, []walWrite{{file: 0, at: c, count: 10, data: elems(c, 10)}}},
			rec{c + 20, []walWrite{{file: 0, at: c + 10, count: 10, data: elems(c+10, 10)}}}),
		"growth not carried, then truncated": withRecords(
			rec{1 << 30, nil},
			rec{100, nil}),
	} {
		t.Run(name, func(t *testing.T) {
			for _, o := range []*Options{nil, {ReadOnly: true}} {
				_, err := Open[row](img, o)
				require.ErrorIs(t, err, ErrCorrupt, "open %+v: the chain is corrupt", o)
			}
			require.NotEmpty(t, loggedCorrupt(t, img), "Check finds nothing wrong with a log every open refuses (ErrCorrupt)")
		})
	}
}

// TestCheckLoggedGrowthHidesDictionaryDamage: after a power cut that lost
// the growth of the row files, Check still checks the dictionary entries
// the checkpoint made durable (the log does not carry them, and an open
// does not replay them): damage there is reported, as every open fails
// on it ("the end offsets decrease").
func TestCheckLoggedGrowthHidesDictionaryDamage(t *testing.T) {
	type row struct {
		A int64
		S Symbol
	}
	base := t.TempDir()
	dir := filepath.Join(base, "t")
	tb, err := Open[row](dir, nil)
	require.NoError(t, err)
	require.NoError(t, tb.AppendRows([]row{{1, "a"}, {2, "b"}, {3, "c"}}))
	require.NoError(t, tb.Close()) // a checkpoint
	tb, err = Open[row](dir, nil)
	require.NoError(t, err)
	defer tb.Close()
	require.NoError(t, tb.Append(row{4, "a"}))
	require.NoError(t, tb.Sync()) // the first Sync of this open: a checkpoint
	for i := range 300 {
		require.NoError(t, tb.Append(row{int64(i + 5), "a"}))
	}
	require.NoError(t, tb.Sync()) // logged
	// The power goes: the row files' growth is lost (they hold the 4
	// checkpointed rows), the dictionary keeps its three entries.
	cut := filepath.Join(base, "cut")
	require.NoError(t, os.CopyFS(cut, os.DirFS(dir)))
	require.NoError(t, os.Remove(filepath.Join(cut, "LOCK")))
	require.NoError(t, os.Truncate(filepath.Join(cut, "A.col"), headerPage+4*8))
	require.NoError(t, os.Truncate(filepath.Join(cut, "S.col"), headerPage+4*4))
	// Damage: the second entry's end offset drops below the first's.
	f, err := os.OpenFile(filepath.Join(cut, "S.sym"), os.O_RDWR, 0)
	require.NoError(t, err)
	_, err = f.WriteAt(make([]byte, 8), headerPage+8)
	require.NoError(t, errors.Join(err, f.Close()))

	bootid.Override("after the power cut")
	defer bootid.Override("")
	bad := loggedCorrupt(t, cut)
	_, err = Open[row](cut, nil)
	require.ErrorIs(t, err, ErrCorrupt, "the dictionary is damaged: the open refuses it")
	require.NotEmpty(t, bad, "Check finds nothing wrong with a table every open refuses (%v)", err)
}

// TestCheckLoggedDictionaryEntriesLost: the sibling of the growth case
// the log now explains. A logged Sync that adds symbols writes their
// dictionary entries (S.sym) into room the file already had (it grows in
// chunks: 512 entries here), and flushes WAL alone; after a power cut
// those pages read as zeros. An open replays the entries from the log and
// reads every row (FORMAT.md "WAL", Replay), but Check reads the entries
// from the file only up to the checkpoint's count: it once read them to
// the log's and called the table damaged ("entry 3: the end offsets
// decrease (0 after 3)").
func TestCheckLoggedDictionaryEntriesLost(t *testing.T) {
	type row struct {
		A int64
		S Symbol
	}
	base := t.TempDir()
	dir := filepath.Join(base, "t")
	tb, err := Open[row](dir, nil)
	require.NoError(t, err)
	require.NoError(t, tb.AppendRows([]row{{1, "a"}, {2, "b"}, {3, "c"}}))
	require.NoError(t, tb.Close()) // a checkpoint: three entries on disk
	tb, err = Open[row](dir, nil)
	require.NoError(t, err)
	defer tb.Close()
	require.NoError(t, tb.Append(row{4, "a"}))
	require.NoError(t, tb.Sync()) // the first Sync of this open: a checkpoint
	for i := range 10 {
		require.NoError(t, tb.Append(row{int64(i + 5), Symbol("n" + string(rune('a'+i)))}))
	}
	require.NoError(t, tb.Sync()) // logged: ten new entries, in WAL alone
	cut := filepath.Join(base, "cut")
	require.NoError(t, os.CopyFS(cut, os.DirFS(dir)))
	x, err := colfile.ReadHeaderFacts(filepath.Join(cut, "S.sym"))
	require.NoError(t, err)
	require.Greater(t, x.Capacity, 13, "the entries fit in the file's room")
	// The power goes: the pages of the new entries never reached the disk.
	f, err := os.OpenFile(filepath.Join(cut, "S.sym"), os.O_RDWR, 0)
	require.NoError(t, err)
	_, err = f.WriteAt(make([]byte, 8*10), headerPage+8*3)
	require.NoError(t, errors.Join(err, f.Close()))

	bootid.Override("after the power cut")
	defer bootid.Override("")
	bad := loggedCorrupt(t, cut)
	got, err := Open[row](cut, nil)
	require.NoError(t, err, "the open replays the entries from the log")
	require.Equal(t, 14, got.Len())
	require.Equal(t, Symbol("nj"), got.Row(13).S)
	require.NoError(t, got.Close())
	require.Empty(t, bad, "table.Check calls a table that opens with every synced row damaged")
}
