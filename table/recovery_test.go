package table_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence/internal/bootid"
	"github.com/mmapvec/persistence/internal/colfile"
	"github.com/mmapvec/persistence/internal/layout"
	"github.com/mmapvec/persistence/table"
)

// The report is plain English with thousands separators and singulars,
// its parts in a fixed order and its columns in schema order.
func TestRecoveryString(t *testing.T) {
	cases := []struct {
		name string
		rec  table.Recovery
		want string
	}{
		{"created", table.Recovery{Created: true, Source: table.SourceNew},
			"created a new table"},
		{"live, all synced", table.Recovery{Source: table.SourceLive, Rows: 1000, CommittedRows: 1000},
			"1,000 rows, as at the last Sync"},
		{"live, one row", table.Recovery{Source: table.SourceLive, Rows: 1, CommittedRows: 1},
			"1 row, as at the last Sync"},
		{"live, unsynced rows kept", table.Recovery{Source: table.SourceLive, Rows: 1_000_020, CommittedRows: 20},
			"1,000,020 rows: recovered 1,000,000 rows written since the last Sync (same boot, so the OS still had them)"},
		{"live, one unsynced row", table.Recovery{Source: table.SourceLive, Rows: 1, CommittedRows: 0},
			"1 row: recovered 1 row written since the last Sync (same boot, so the OS still had them)"},
		{"live, rows removed since the Sync", table.Recovery{Source: table.SourceLive, Rows: 980, CommittedRows: 1000},
			"980 rows, 20 fewer than at the last Sync (removed since, in this boot)"},
		{"after a reboot", table.Recovery{Source: table.SourceCommitted, Rows: 1000, CommittedRows: 1000},
			"opened at the last Sync: 1,000 rows (written before the machine restarted: only synced rows are kept)"},
		{"interrupted append, one column", table.Recovery{Source: table.SourceLive, Rows: 50, CommittedRows: 50,
			Cut: []table.ColumnCut{{Column: "b", Rows: 3}}},
			"50 rows, as at the last Sync; cut 3 rows of column b (an interrupted append)"},
		{"interrupted append, three columns", table.Recovery{Source: table.SourceLive, Rows: 50, CommittedRows: 0,
			Cut: []table.ColumnCut{{Column: "z", Rows: 1}, {Column: "a", Rows: 2}, {Column: "m", Rows: 1_500}}},
			"50 rows: recovered 50 rows written since the last Sync (same boot, so the OS still had them); " +
				"cut 1 row of column z, 2 rows of column a and 1,500 rows of column m (an interrupted append)"},
		{"redone SwapRemove with its cut", table.Recovery{Source: table.SourceLive, Rows: 49, CommittedRows: 49,
			Intent: "SwapRemove(7) of 50 rows", Cut: []table.ColumnCut{{Column: "a", Rows: 1}}},
			"49 rows, as at the last Sync; finished an interrupted SwapRemove(7) of 50 rows, which cut 1 row of column a"},
		{"redo after a reboot changes the count", table.Recovery{Source: table.SourceCommitted, Rows: 999, CommittedRows: 1000,
			Intent: "SwapRemove(3) of 1,000 rows"},
			"opened at the last Sync: 1,000 rows (written before the machine restarted: only synced rows are kept); " +
				"finished an interrupted SwapRemove(3) of 1,000 rows; 999 rows now"},
		{"everything at once", table.Recovery{Source: table.SourceCommitted, Rows: 10, CommittedRows: 10,
			IntentDiscarded: "Truncate(5) of 12 rows", CommitSlotDamaged: true, ExtraFiles: []string{"notes.txt", "x.col"},
			CPUMissing: []string{"AVX512F"}},
			"opened at the last Sync: 10 rows (written before the machine restarted: only synced rows are kept); " +
				"dropped an interrupted Truncate(5) of 12 rows: it came after the last Sync, and the machine restarted; " +
				"one of the two COMMIT records was damaged (a torn write); used the other; " +
				"ignored files that are not the table's: notes.txt, x.col"},
		{"after a reboot, unsynced rows dropped", table.Recovery{Source: table.SourceCommitted, Rows: 1000, CommittedRows: 1000, Dropped: 1},
			"opened at the last Sync: 1,000 rows (written before the machine restarted: only synced rows are kept); " +
				"dropped 1 row written after it and not synced"},
		{"zero value", table.Recovery{}, "0 rows"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, c.want, c.rec.String())
		})
	}
}

func TestSourceString(t *testing.T) {
	require.Equal(t, "new", table.SourceNew.String())
	require.Equal(t, "live", table.SourceLive.String())
	require.Equal(t, "committed", table.SourceCommitted.String())
	require.Equal(t, "Source(0)", table.Source(0).String())
	require.Equal(t, "live", fmt.Sprint(table.SourceLive))
}

type wide struct{ A, B, C, D, E, F, G, H int64 }

// A table whose columns were cut reports them in schema order, the same
// every time (a map's order would change from one call to the next), and
// as typed values.
func TestRecoveryCutOrder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "w")
	tb, err := table.Open[wide](dir, nil)
	require.NoError(t, err)
	require.NoError(t, tb.AppendRows(make([]wide, 10)))
	require.NoError(t, tb.Close())
	// An append interrupted after every column but A got 5 more rows: grow
	// each of B..H by 5 zero rows behind the table's back, the way a crash
	// between columns leaves them.
	for _, name := range []string{"B", "C", "D", "E", "F", "G", "H"} {
		growColumn(t, filepath.Join(dir, name+".col"), 15)
	}
	want := []table.ColumnCut{{"B", 5}, {"C", 5}, {"D", 5}, {"E", 5}, {"F", 5}, {"G", 5}, {"H", 5}}
	wantText := "10 rows: recovered 10 rows written since the last Sync (same boot, so the OS still had them); " +
		"cut 5 rows of column B, 5 rows of column C, 5 rows of column D, 5 rows of column E, " +
		"5 rows of column F, 5 rows of column G and 5 rows of column H (an interrupted append)"
	// Read-only opens compute the same view without writing: repeat them.
	for range 20 {
		ro, err := table.Open[wide](dir, &table.Options{ReadOnly: true})
		require.NoError(t, err)
		rec := ro.Recovered()
		require.NoError(t, ro.Close())
		require.Equal(t, table.SourceLive, rec.Source)
		require.Equal(t, want, rec.Cut)
		require.Equal(t, wantText, rec.String())
	}
	tb = mustOpen[wide](t, dir, nil)
	require.Equal(t, want, tb.Recovered().Cut)
	require.Equal(t, 10, tb.Len())
}

// After a reboot the report says the table is as of the last Sync.
func TestRecoveryStringAfterReboot(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "r")
	tb, err := table.Open[wide](dir, nil)
	require.NoError(t, err)
	require.Equal(t, "created a new table", tb.Recovered().String())
	require.NoError(t, tb.AppendRows(make([]wide, 1000)))
	require.NoError(t, tb.Sync())
	require.NoError(t, tb.AppendRows(make([]wide, 20)))
	require.NoError(t, tb.Close())

	require.Equal(t, "1,020 rows: recovered 20 rows written since the last Sync (same boot, so the OS still had them)",
		mustOpenClose[wide](t, dir))

	bootid.Override("another boot")
	defer bootid.Override("")
	require.Equal(t, "opened at the last Sync: 1,000 rows (written before the machine restarted: only synced rows are kept); "+
		"dropped 20 rows written after it and not synced", mustOpenClose[wide](t, dir))
}

// mustOpenClose opens dir read-only and returns its recovery report.
func mustOpenClose[R any](t *testing.T, dir string) string {
	t.Helper()
	tb, err := table.Open[R](dir, &table.Options{ReadOnly: true})
	require.NoError(t, err)
	defer tb.Close()
	return tb.Recovered().String()
}

// growColumn sets a closed int64 column file's live length to n, as a
// writer that stopped part way through an append leaves it.
func growColumn(t *testing.T, path string, n int) {
	t.Helper()
	l, err := layout.For[int64]()
	require.NoError(t, err)
	r, err := colfile.Open(path, l, &colfile.Options{Tag: [8]byte{'t', 'a', 'b', 'l', 'e', 'c', 'o', 'l'}})
	require.NoError(t, err)
	require.NoError(t, r.EnsureCap(n))
	require.NoError(t, r.SetLen(n))
	require.NoError(t, r.Adopt())
	require.NoError(t, r.Close())
}
