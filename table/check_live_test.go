package table_test

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence/internal/crashpoint"
	"github.com/mmapvec/persistence/internal/testproc"
	"github.com/mmapvec/persistence/table"
)

// busyWriterChild is a writer that appends, changes rows in place (SetRow,
// SwapRemove, Delete, Truncate) and syncs, until it is killed.
func busyWriterChild() {
	tb, err := table.Open[Particle](os.Getenv("PERSIST_TEST_DIR"), nil)
	if err != nil {
		testproc.Say("error %v", err)
		testproc.Hang()
	}
	fail := func(err error) {
		if err != nil {
			testproc.Say("error %v", err)
			testproc.Hang()
		}
	}
	for i := 0; ; i++ {
		fail(tb.Append(p(i)))
		n := tb.Len()
		switch {
		case i == 100:
			testproc.Say("running %d", os.Getpid())
		case n > 20_000:
			fail(tb.Truncate(500)) // files keep their size; appends grow nothing for a while
		case i%97 == 0:
			fail(tb.Delete(n / 3))
		case i%31 == 0:
			fail(tb.SwapRemove(n / 2))
		case i%7 == 0:
			fail(tb.SetRow(n/4, p(i)))
		case i%500 == 0:
			fail(tb.Sync())
		}
	}
}

// startBusyWriter starts busyWriterChild on a new table in dir and returns
// the child's pid once it runs.
func startBusyWriter(t *testing.T, test, dir string) int {
	t.Helper()
	c := testproc.Start(t, test, "busy", "PERSIST_TEST_DIR="+dir)
	line := c.Expect(t, "running ", 60*time.Second)
	pid, err := strconv.Atoi(strings.TrimPrefix(line, "running "))
	require.NoError(t, err)
	return pid
}

// TestCheckBesideBusyWriter: a check repeated while another process
// appends and changes rows in place finds no problem; what the writer had
// in flight is in the notes.
func TestCheckBesideBusyWriter(t *testing.T) {
	if testproc.Role() == "busy" {
		busyWriterChild()
	}
	dir := filepath.Join(t.TempDir(), "t")
	pid := startBusyWriter(t, t.Name(), dir)
	inFlight, checks := 0, 300
	if raceEnabled {
		checks = 100 // each reads every row; the detector makes that slow
	}
	for range checks {
		rep, err := table.Check(dir)
		require.NoError(t, err)
		require.NoError(t, rep.Err(), "%s; notes: %q", rep, rep.Notes)
		require.Equal(t, pid, rep.Writer, "%s", rep)
		require.Equal(t, "published", rep.Source)
		for _, n := range rep.Notes {
			if strings.Contains(n, "part way") || strings.Contains(n, "change in place") {
				inFlight++
			}
		}
	}
	t.Logf("%d checks beside a busy writer, %d notes of what it had in flight", checks, inFlight)

	// A reader's own check is the same check.
	r := mustOpen[Particle](t, dir, &table.Options{ReadOnly: true})
	rep, err := r.Check()
	require.NoError(t, err)
	require.NoError(t, rep.Err())
	require.Equal(t, pid, rep.Writer)
}

// TestCheckFindsDamageBesideBusyWriter: damage is reported while a writer
// in another process runs.
func TestCheckFindsDamageBesideBusyWriter(t *testing.T) {
	if testproc.Role() == "busy" {
		busyWriterChild()
	}
	dir := filepath.Join(t.TempDir(), "t")
	pid := startBusyWriter(t, t.Name(), dir)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "stray.txt"), []byte("x"), 0o644))
	writeAt(t, filepath.Join(dir, "Mass.col"), []byte("XX"), 0) // the writer never reads the magic
	for range 20 {
		rep, err := table.Check(dir)
		require.NoError(t, err)
		require.Equal(t, pid, rep.Writer)
		require.ErrorIs(t, rep.Err(), table.ErrCorrupt)
		require.Contains(t, strings.Join(problemIn(rep, "stray.txt"), ""), "not one of the table's files")
		require.Contains(t, strings.Join(problemIn(rep, "Mass.col"), ""), "bad magic")
		require.Len(t, rep.Problems, 2, "%v", rep.Err())
	}
}

// TestCheckInFlight stops a writer of this process inside each kind of
// change (a crash-point hook) and checks there: what the change has in
// flight is a note, never a problem.
func TestCheckInFlight(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t")
	w := mustOpen[Particle](t, dir, nil)
	require.NoError(t, w.AppendRows(particles(seq(0, 100)...)))
	require.NoError(t, w.Sync())

	var reps []*table.CheckReport
	checkAt := func(point string, nth int) {
		seen := 0
		crashpoint.SetHook(func(name string) {
			if name == point {
				if seen++; seen == nth {
					rep, err := table.Check(dir)
					require.NoError(t, err)
					reps = append(reps, rep)
				}
			}
		})
	}
	defer crashpoint.SetHook(nil)
	for _, c := range []struct {
		name, point string
		nth         int
		change      func() error
		notes       []string
	}{
		{"SetRow applied", "table.setrow.applied", 1, func() error { return w.SetRow(3, p(333)) },
			[]string{"JOURNAL holds SetRow(3) of 100 rows: the running writer's change in place"}},
		{"Delete publishing its second column", "table.delete.publish", 2, func() error { return w.Delete(10) },
			[]string{"live lengths 99 to 100, the writer had published 100", "JOURNAL holds Delete(10) of 100 rows"}},
		{"Truncate's intent written", "table.intent.written", 1, func() error { return w.Truncate(50) },
			[]string{"JOURNAL holds Truncate(50) of 99 rows"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			reps = nil
			checkAt(c.point, c.nth)
			require.NoError(t, c.change())
			crashpoint.SetHook(nil)
			require.Len(t, reps, 1, "the hook ran a check")
			rep := reps[0]
			require.NoError(t, rep.Err(), "%s", rep)
			require.Equal(t, os.Getpid(), rep.Writer)
			notes := strings.Join(rep.Notes, "\n")
			for _, n := range c.notes {
				require.Contains(t, notes, n)
			}
		})
	}

	// An append that has stored one column's live length but not yet the
	// others' nor the published count: noted.
	path := filepath.Join(dir, "Vel.col")
	word := make([]byte, 8)
	binary.NativeEndian.PutUint64(word, liveWord(51))
	writeAt(t, path, word, 128)
	rep, err := table.Check(dir)
	require.NoError(t, err)
	require.NoError(t, rep.Err())
	require.Contains(t, strings.Join(rep.Notes, "\n"), "live lengths 50 to 51, the writer had published 50")
	binary.NativeEndian.PutUint64(word, liveWord(50))
	writeAt(t, path, word, 128)
	mustCheck(t, dir)
}

// TestCheckBesideIdleWriter: what a running writer never leaves while it
// changes nothing is damage: a column shorter than its published count,
// an intent in the JOURNAL.
func TestCheckBesideIdleWriter(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t")
	w := mustOpen[Particle](t, dir, nil)
	require.NoError(t, w.AppendRows(particles(seq(0, 10)...)))
	ne := binary.NativeEndian

	word := make([]byte, 8)
	ne.PutUint64(word, liveWord(8))
	writeAt(t, filepath.Join(dir, "id.col"), word, 128)
	rep, err := table.Check(dir)
	require.NoError(t, err)
	require.ErrorIs(t, rep.Err(), table.ErrCorrupt)
	require.Contains(t, strings.Join(problemIn(rep, "id.col"), ""), "live length 8, below the 10 rows the writer published")
	ne.PutUint64(word, liveWord(10))
	writeAt(t, filepath.Join(dir, "id.col"), word, 128)
	mustCheck(t, dir)

	row := make([]byte, 12+12+8+4)
	writeAt(t, filepath.Join(dir, "JOURNAL"), table.EncodeIntent(1, 0, 2, 10, row), 0)
	rep, err = table.Check(dir)
	require.NoError(t, err)
	require.ErrorIs(t, rep.Err(), table.ErrCorrupt)
	require.Contains(t, strings.Join(problemIn(rep, "JOURNAL"), ""), "holds SetRow(2) of 10 rows while the running writer")
	writeAt(t, filepath.Join(dir, "JOURNAL"), []byte{0, 0, 0, 0}, 0)
	mustCheck(t, dir)

	// Once the writer closed, the same check is the strict one again.
	require.NoError(t, w.Close())
	rep, err = table.Check(dir)
	require.NoError(t, err)
	require.Zero(t, rep.Writer)
	require.Equal(t, "live", rep.Source)
	require.NoError(t, rep.Err())
}
