package table_test

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence"
	"github.com/mmapvec/persistence/internal/testproc"
	"github.com/mmapvec/persistence/table"
)

// mustCheck runs the library's consistency check on the table in dir and
// fails the test with every problem it lists. It runs beside a writer of
// the test that still holds the table, too.
func mustCheck(t *testing.T, dir string) {
	t.Helper()
	rep, err := table.Check(dir)
	require.NoError(t, err)
	require.NoError(t, rep.Err(), "consistency check of %s (%s)", dir, rep)
}

// checkedTable makes a table of n synced rows in its own directory and
// closes it.
func checkedTable(t *testing.T, n int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "t")
	tb, err := table.Open[Particle](dir, nil)
	require.NoError(t, err)
	for i := range n {
		require.NoError(t, tb.Append(p(i)))
	}
	require.NoError(t, tb.Sync())
	require.NoError(t, tb.Close())
	return dir
}

// liveWord is a live length word as FORMAT.md specifies it: the length in
// bits 0-47, and l0^l1^l2^0xA55A of its 16-bit pieces in bits 48-63.
func liveWord(n uint64) uint64 {
	return n | uint64(uint16(n)^uint16(n>>16)^uint16(n>>32)^0xA55A)<<48
}

func writeAt(t *testing.T, path string, b []byte, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	require.NoError(t, err)
	_, err = f.WriteAt(b, off)
	require.NoError(t, err)
	require.NoError(t, f.Close())
}

// problemIn returns the problems the report lists for file.
func problemIn(rep *table.CheckReport, file string) []string {
	var out []string
	for _, p := range rep.Problems {
		if p.File == file {
			out = append(out, p.Error())
		}
	}
	return out
}

func TestCheckHealthyTable(t *testing.T) {
	dir := checkedTable(t, 10)
	rep, err := table.Check(dir)
	require.NoError(t, err)
	require.True(t, rep.OK(), "%v", rep.Err())
	require.Equal(t, 10, rep.Rows)
	require.Equal(t, 10, rep.CommittedRows)
	require.Equal(t, "live", rep.Source)
	require.Equal(t, 4, rep.Columns)
	require.Empty(t, rep.Notes)
	require.Contains(t, rep.String(), "ok")

	// A writer's own check: unsynced rows are a note, not a problem.
	tb := mustOpen[Particle](t, dir, nil)
	require.NoError(t, tb.Append(p(10)))
	rep, err = tb.Check()
	require.NoError(t, err)
	require.True(t, rep.OK(), "%v", rep.Err())
	require.Equal(t, 11, rep.Rows)
	require.Len(t, rep.Notes, 1)
	require.Contains(t, rep.Notes[0], "1 rows written since the last Sync are not committed")
	rep, err = table.Check(dir) // beside the writer, which holds LOCK
	require.NoError(t, err)
	require.True(t, rep.OK(), "%v", rep.Err())
	require.Equal(t, os.Getpid(), rep.Writer)
	require.Equal(t, "published", rep.Source)
	require.Equal(t, 11, rep.Rows)
	require.Contains(t, rep.String(), fmt.Sprintf("writer pid %d; ok", os.Getpid()))
	require.Contains(t, strings.Join(rep.Notes, "\n"), "11 rows published, 10 rows at its last Sync")

	_, err = table.Check(filepath.Join(t.TempDir(), "missing"))
	require.ErrorIs(t, err, table.ErrNotTable)
}

// TestCheckFindsEachMismatch damages a healthy table in one way per case
// and checks that the report names the file and the numbers.
func TestCheckFindsEachMismatch(t *testing.T) {
	const rows = 10
	ne := binary.NativeEndian
	cases := []struct {
		name   string
		damage func(t *testing.T, dir string)
		file   string   // where the problem must be reported
		want   []string // substrings of that problem
		kind   error
	}{
		{"a column's live length differs", func(t *testing.T, dir string) {
			b := make([]byte, 8)
			ne.PutUint64(b, liveWord(rows+3))
			writeAt(t, filepath.Join(dir, "Mass.col"), b, 128)
		}, "Mass.col", []string{"live length 13, the shortest column 10"}, table.ErrNeedsRecovery},
		{"live length word damaged", func(t *testing.T, dir string) {
			writeAt(t, filepath.Join(dir, "id.col"), []byte{0xff}, 128+6)
		}, "id.col", []string{"fails its check bits"}, table.ErrCorrupt},
		{"committed count past a file", func(t *testing.T, dir string) {
			require.NoError(t, os.Truncate(filepath.Join(dir, "Vel.col"), 4096+4*12))
		}, "Vel.col", []string{"COMMIT (seq 3) has 10 rows, the file holds 4 elements"}, table.ErrCorrupt},
		{"COMMIT hash mismatch", func(t *testing.T, dir string) {
			slot := table.EncodeCommit(0, 9, rows, 0x1234, []uint64{rows, rows, rows, rows})
			writeAt(t, filepath.Join(dir, "COMMIT"), slot, 0)
		}, "COMMIT", []string{"seq 9 was committed for another manifest (hash 0000000000001234"}, table.ErrCorrupt},
		{"COMMIT column length differs", func(t *testing.T, dir string) {
			m, err := persistence.ReadManifest(dir)
			require.NoError(t, err)
			slot := table.EncodeCommit(0, 9, rows, m.Hash(), []uint64{rows, rows, 7, rows})
			writeAt(t, filepath.Join(dir, "COMMIT"), slot, 0)
		}, "COMMIT", []string{"seq 9 commits 10 rows but column", "with 7"}, table.ErrCorrupt},
		{"one COMMIT slot torn", func(t *testing.T, dir string) {
			writeAt(t, filepath.Join(dir, "COMMIT"), []byte{0xee}, 512+20) // slot 1 holds seq 3, the checkpoint of Close after the logged Sync
		}, "COMMIT", []string{"commit slot 1 fails its checks", "(seq 1, 0 rows) counts"}, table.ErrNeedsRecovery},
		{"an extra file", func(t *testing.T, dir string) {
			require.NoError(t, os.WriteFile(filepath.Join(dir, "stray.txt"), []byte("x"), 0o644))
		}, "stray.txt", []string{"not one of the table's files"}, table.ErrCorrupt},
		{"a missing column file", func(t *testing.T, dir string) {
			require.NoError(t, os.Remove(filepath.Join(dir, "Pos.col")))
		}, "Pos.col", []string{"missing", `column "Pos"`}, table.ErrCorrupt},
		{"a column of another element size", func(t *testing.T, dir string) {
			require.NoError(t, os.Remove(filepath.Join(dir, "id.col")))
			v, err := table.Open[struct{ ID uint64 }](filepath.Join(t.TempDir(), "other"), nil)
			require.NoError(t, err)
			require.NoError(t, v.Close())
			b, err := os.ReadFile(filepath.Join(v.Dir(), "ID.col"))
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(dir, "id.col"), b, 0o644))
		}, "id.col", []string{"holds 8-byte elements", "the manifest says 4"}, table.ErrCorrupt},
		{"a column header with a bad magic", func(t *testing.T, dir string) {
			writeAt(t, filepath.Join(dir, "Pos.col"), []byte("XX"), 0)
		}, "Pos.col", []string{"bad magic"}, table.ErrCorrupt},
		{"a JOURNAL that is a symlink", func(t *testing.T, dir string) {
			require.NoError(t, os.Remove(filepath.Join(dir, "JOURNAL")))
			require.NoError(t, os.Symlink("/dev/zero", filepath.Join(dir, "JOURNAL")))
		}, "JOURNAL", []string{"a symlink, not a regular file"}, table.ErrCorrupt},
		{"a COMMIT of the wrong size", func(t *testing.T, dir string) {
			require.NoError(t, os.Truncate(filepath.Join(dir, "COMMIT"), 1<<40)) // sparse: never read
		}, "COMMIT", []string{"is 1099511627776 bytes, want 1024"}, table.ErrCorrupt},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := checkedTable(t, rows)
			rep, err := table.Check(dir)
			require.NoError(t, err)
			require.True(t, rep.OK(), "before the damage: %v", rep.Err())

			c.damage(t, dir)
			rep, err = table.Check(dir)
			require.NoError(t, err)
			require.False(t, rep.OK(), "the damage is found")
			got := problemIn(rep, c.file)
			require.NotEmpty(t, got, "a problem in %s; the report: %v", c.file, rep.Err())
			for _, w := range c.want {
				require.Contains(t, strings.Join(got, "\n"), w)
			}
			require.ErrorIs(t, rep.Err(), c.kind)
			t.Logf("%s", rep.Err())
		})
	}
}

// TestCheckNotes: what needs no action, or what the next writable open
// takes care of, is noted and the table is ok.
func TestCheckNotes(t *testing.T) {
	dir := checkedTable(t, 5)
	f, err := os.OpenFile(filepath.Join(dir, "Mass.col"), os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = f.Write([]byte{1, 2, 3}) // a growth that stopped part way
	require.NoError(t, err)
	require.NoError(t, f.Close())
	tmp, err := os.CreateTemp(dir, "."+persistence.ManifestFile+".tmp*") // as the manifest writer names it
	require.NoError(t, err)
	require.NoError(t, tmp.Close())

	rep, err := table.Check(dir)
	require.NoError(t, err)
	require.True(t, rep.OK(), "%v", rep.Err())
	notes := strings.Join(rep.Notes, "\n")
	require.Contains(t, notes, "Mass.col: 3 bytes past its last whole element")
	require.Contains(t, notes, "leftover "+tmp.Name())
	_, err = os.Stat(tmp.Name())
	require.NoError(t, err, "a check removes nothing")
}

// TestCheckPendingIntent: a process killed inside SetRow leaves an intent
// that a check reports (a read-only open refuses the table) and a writable
// open finishes, after which the check passes.
func TestCheckPendingIntent(t *testing.T) {
	if testproc.Role() == "crash" {
		crashChild(t)
	}
	dir := t.TempDir()
	c := testproc.Start(t, t.Name(), "crash", "PERSIST_TEST_DIR="+dir,
		"PERSIST_TEST_OP=setrow", "PERSIST_CRASH_NAME=table.intent.written", "PERSIST_CRASH_AT=1")
	c.Expect(t, "appended", 30*time.Second)
	require.Equal(t, -1, c.Wait(), "killed inside SetRow")

	rep, err := table.Check(dir)
	require.NoError(t, err)
	require.ErrorIs(t, rep.Err(), table.ErrNeedsRecovery)
	require.NotErrorIs(t, rep.Err(), table.ErrCorrupt)
	require.Contains(t, strings.Join(problemIn(rep, "JOURNAL"), ""), "an interrupted SetRow(7) of 50 rows")
	require.Contains(t, strings.Join(rep.Notes, "\n"), "50 rows written since the last Sync")

	tb := mustOpen[Particle](t, dir, nil) // its cleanup checks the table again
	require.Equal(t, p(700), tb.Row(7))
}
