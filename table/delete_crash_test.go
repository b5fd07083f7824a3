package table_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence/internal/testproc"
	"github.com/mmapvec/persistence/table"
)

// Kill -9 inside Delete and DeleteFunc, at each of their crash points,
// and inside the recovery that finishes them: the table that opens next is
// the one before the call or the one after it, row for row.

const deleteCrashRows = 50

// deleteCrashChild appends deleteCrashRows rows, syncs, reports, runs the
// PERSIST_TEST_OP delete and reports again, then hangs.
func deleteCrashChild() {
	tb, err := table.Open[Particle](os.Getenv("PERSIST_TEST_DIR"), nil)
	if err == nil {
		err = tb.AppendRows(particles(seq(0, deleteCrashRows)...))
	}
	if err == nil {
		err = tb.Sync()
	}
	if err != nil {
		testproc.Say("error %v", err)
		os.Exit(1)
	}
	testproc.Say("appended %d", tb.Len())
	switch os.Getenv("PERSIST_TEST_OP") {
	case "delete":
		err = tb.Delete(7)
	case "deletefunc":
		_, err = tb.DeleteFunc(deleteCrashDel)
	}
	testproc.Say("done %d %v", tb.Len(), err)
	testproc.Hang()
}

func deleteCrashDel(r Particle) bool { return r.ID%3 == 0 && r.ID > 4 }

// deleteCrashStates are the two tables a killed op may leave.
func deleteCrashStates(op string) (before, after []Particle) {
	before = particles(seq(0, deleteCrashRows)...)
	for _, r := range before {
		switch {
		case op == "delete" && r.ID == 7:
		case op == "deletefunc" && deleteCrashDel(r):
		default:
			after = append(after, r)
		}
	}
	return before, after
}

func TestCrashInsideDelete(t *testing.T) {
	switch testproc.Role() {
	case "crash":
		deleteCrashChild()
	case "recover":
		tb, err := table.Open[Particle](os.Getenv("PERSIST_TEST_DIR"), nil)
		if err == nil {
			_ = tb.Close()
		}
		testproc.Say("recovered without crashing")
		os.Exit(0)
	}
	// Particle has four columns: per-column points are hit four times.
	points := []struct {
		name    string
		at      int
		changed bool // whether the op had taken effect (its intent complete)
	}{
		{"table.delete.stage", 1, false},
		{"table.delete.stage", 3, false},
		{"table.intent.write", 1, false},
		{"table.intent.written", 1, true},
		{"table.delete.moved", 1, true},
		{"table.delete.moved", 3, true},
		{"table.delete.publish", 1, true},
		{"table.delete.publish", 4, true},
		{"table.intent.clear", 1, true},
	}
	for _, op := range []string{"delete", "deletefunc"} {
		before, after := deleteCrashStates(op)
		for _, pt := range points {
			t.Run(fmt.Sprintf("%s@%s#%d", op, pt.name, pt.at), func(t *testing.T) {
				dir := t.TempDir()
				c := testproc.Start(t, "TestCrashInsideDelete", "crash", "PERSIST_TEST_DIR="+dir, "PERSIST_TEST_OP="+op,
					"PERSIST_CRASH_NAME="+pt.name, fmt.Sprintf("PERSIST_CRASH_AT=%d", pt.at))
				c.Expect(t, "appended", 30*time.Second)
				require.Equal(t, -1, c.Wait(), "killed at %s #%d", pt.name, pt.at)
				tb := mustOpen[Particle](t, dir, nil)
				t.Logf("recovery: %s", tb.Recovered())
				want := map[bool][]Particle{false: before, true: after}[pt.changed]
				require.Equal(t, want, rowsOf(t, tb))
				require.NoError(t, tb.Close())
				tb2 := mustOpen[Particle](t, dir, nil)
				require.False(t, tb2.Recovered().Changed(), "second open: %s", tb2.Recovered())
				require.Equal(t, want, rowsOf(t, tb2))
			})
		}
	}
}

// TestCrashDuringDeleteRecovery kills Delete after its first column moved,
// then kills the recovery that redoes it, at each of its steps (its redo
// moves the columns again, hitting the same point).
func TestCrashDuringDeleteRecovery(t *testing.T) {
	switch testproc.Role() {
	case "crash":
		deleteCrashChild()
	case "recover":
		tb, err := table.Open[Particle](os.Getenv("PERSIST_TEST_DIR"), nil)
		if err == nil {
			_ = tb.Close()
		}
		testproc.Say("recovered without crashing")
		os.Exit(0)
	}
	_, after := deleteCrashStates("delete")
	for _, pt := range []struct {
		name string
		at   int
	}{{"table.recover.redo", 1}, {"table.delete.moved", 2}, {"table.recover.lengths", 1}, {"table.recover.column", 2}, {"table.recover.clear", 1}} {
		t.Run(fmt.Sprintf("%s#%d", pt.name, pt.at), func(t *testing.T) {
			dir := t.TempDir()
			c := testproc.Start(t, "TestCrashDuringDeleteRecovery", "crash", "PERSIST_TEST_DIR="+dir, "PERSIST_TEST_OP=delete",
				"PERSIST_CRASH_NAME=table.delete.moved", "PERSIST_CRASH_AT=2")
			require.Equal(t, -1, c.Wait(), "killed inside Delete")
			r := testproc.Start(t, "TestCrashDuringDeleteRecovery", "recover", "PERSIST_TEST_DIR="+dir,
				"PERSIST_CRASH_NAME="+pt.name, fmt.Sprintf("PERSIST_CRASH_AT=%d", pt.at))
			require.Equal(t, -1, r.Wait(), "recovery killed at %s", pt.name)
			tb := mustOpen[Particle](t, dir, nil)
			require.Equal(t, after, rowsOf(t, tb), "recovery: %s", tb.Recovered())
		})
	}
}
