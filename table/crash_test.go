package table_test

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence/internal/testproc"
	"github.com/mmapvec/persistence/table"
)

// crashChild is the workload of the crash tests' children: it appends rows
// in batches (reporting each acknowledged count), then runs one in-place
// operation, and hangs. PERSIST_CRASH_* variables kill it at a crash point.
func crashChild(t *testing.T) {
	dir := os.Getenv("PERSIST_TEST_DIR")
	tb, err := table.Open[Particle](dir, nil)
	if err != nil {
		testproc.Say("error %v", err)
		os.Exit(1)
	}
	for i := range 50 {
		if err := tb.Append(p(i)); err != nil {
			testproc.Say("error %v", err)
			os.Exit(1)
		}
	}
	testproc.Say("appended %d", tb.Len())
	switch os.Getenv("PERSIST_TEST_OP") {
	case "setrow":
		_ = tb.SetRow(7, p(700))
	case "swapremove":
		_ = tb.SwapRemove(7)
	case "truncate":
		_ = tb.Truncate(20)
	case "appendrows":
		rows := make([]Particle, 10_000)
		for i := range rows {
			rows[i] = p(50 + i)
		}
		_ = tb.AppendRows(rows)
	}
	testproc.Say("done %d", tb.Len())
	testproc.Hang()
}

func TestKill9KeepsAppends(t *testing.T) {
	if testproc.Role() == "crash" {
		crashChild(t)
	}
	dir := t.TempDir()
	c := testproc.Start(t, t.Name(), "crash", "PERSIST_TEST_DIR="+dir)
	require.Equal(t, "done 50", c.Expect(t, "done", 30*time.Second))
	c.Kill()
	tb := mustOpen[Particle](t, dir, nil)
	require.Equal(t, 50, tb.Len(), "every completed Append, without Sync")
	require.Equal(t, table.SourceLive, tb.Recovered().Source)
	require.Equal(t, p(49), tb.Row(49))
}

// TestCrashInsideOperations kills the child at each crash point of an
// in-place operation and checks that the row is either fully old or fully
// new, and the columns agree.
func TestCrashInsideOperations(t *testing.T) {
	if testproc.Role() == "crash" {
		crashChild(t)
	}
	cases := []struct {
		op, point string
		check     func(t *testing.T, tb *table.Table[Particle])
	}{
		{"setrow", "table.setrow.applied", func(t *testing.T, tb *table.Table[Particle]) {
			require.Equal(t, 50, tb.Len())
			require.Equal(t, p(700), tb.Row(7), "the journaled SetRow is finished")
		}},
		{"setrow", "table.intent.written", func(t *testing.T, tb *table.Table[Particle]) {
			require.Equal(t, p(700), tb.Row(7))
		}},
		{"swapremove", "table.swapremove.moved", func(t *testing.T, tb *table.Table[Particle]) {
			require.Equal(t, 49, tb.Len())
			require.Equal(t, p(49), tb.Row(7))
		}},
		{"truncate", "table.intent.written", func(t *testing.T, tb *table.Table[Particle]) {
			require.Equal(t, 20, tb.Len())
		}},
		{"appendrows", "table.appendrows.column", func(t *testing.T, tb *table.Table[Particle]) {
			require.Equal(t, 50, tb.Len(), "a half-done AppendRows is cut to the shortest column")
			require.NotEmpty(t, tb.Recovered().Cut)
		}},
	}
	for _, c := range cases {
		t.Run(c.op+"@"+c.point, func(t *testing.T) {
			dir := t.TempDir()
			at := "1"
			if c.op == "appendrows" {
				at = "2" // after the first column took its rows
			}
			child := testproc.Start(t, "TestCrashInsideOperations", "crash", "PERSIST_TEST_DIR="+dir,
				"PERSIST_TEST_OP="+c.op, "PERSIST_CRASH_NAME="+c.point, "PERSIST_CRASH_AT="+at)
			child.Expect(t, "appended", 30*time.Second)
			code := child.Wait()
			require.Equal(t, -1, code, "the child was killed at %s", c.point)
			tb := mustOpen[Particle](t, dir, nil)
			t.Logf("recovery: %s", tb.Recovered())
			c.check(t, tb)
			for i := range tb.Len() {
				r := tb.Row(i)
				require.Equal(t, p(int(r.ID)), r, "row %d is not torn", i)
			}
			require.NoError(t, tb.Close())
			// Recovery is done: a second open changes nothing.
			tb2 := mustOpen[Particle](t, dir, nil)
			require.False(t, tb2.Recovered().Changed(), "second open: %s", tb2.Recovered())
		})
	}
}

// TestCrashDuringRecovery interrupts recovery itself, at each of its steps,
// and checks that the next open finishes it.
func TestCrashDuringRecovery(t *testing.T) {
	switch testproc.Role() {
	case "crash":
		crashChild(t)
	case "recover":
		tb, err := table.Open[Particle](os.Getenv("PERSIST_TEST_DIR"), nil)
		if err == nil {
			_ = tb.Close()
		}
		testproc.Say("recovered without crashing")
		os.Exit(0)
	}
	for _, point := range []struct {
		name string
		at   string
	}{{"table.recover.redo", "1"}, {"table.recover.lengths", "1"}, {"table.recover.column", "2"}, {"table.recover.clear", "1"}} {
		t.Run(point.name, func(t *testing.T) {
			dir := t.TempDir()
			c := testproc.Start(t, "TestCrashDuringRecovery", "crash", "PERSIST_TEST_DIR="+dir,
				"PERSIST_TEST_OP=swapremove", "PERSIST_CRASH_NAME=table.swapremove.moved", "PERSIST_CRASH_AT=1")
			require.Equal(t, -1, c.Wait(), "killed inside SwapRemove")
			r := testproc.Start(t, "TestCrashDuringRecovery", "recover", "PERSIST_TEST_DIR="+dir,
				"PERSIST_CRASH_NAME="+point.name, "PERSIST_CRASH_AT="+point.at)
			require.Equal(t, -1, r.Wait(), "recovery killed at %s", point.name)
			tb := mustOpen[Particle](t, dir, nil)
			require.Equal(t, 49, tb.Len(), "recovery: %s", tb.Recovered())
			require.Equal(t, p(49), tb.Row(7))
			for i := range tb.Len() {
				r := tb.Row(i)
				require.Equal(t, p(int(r.ID)), r, "row %d", i)
			}
		})
	}
}
