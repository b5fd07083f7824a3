package torture_test

import (
	"path/filepath"
	"testing"

	"github.com/mmapvec/persistence/internal/testproc"
)

// crashRun is a child run with the crash-point variables: killed at the
// n-th point (n 0: never), with the points it reached.
type crashRun struct {
	c      *testproc.Child
	code   int
	points []string
}

// startCrashRun runs role in a child killed at its n-th crash point and
// waits for it.
func startCrashRun(t *testing.T, role string, n int, env ...string) crashRun {
	t.Helper()
	return launchCrashRun(t, role, n, env...).wait(t)
}

// killPoints returns the crash points (numbered from 1) at which a test
// kills the runs of a workload whose complete run reached points: every
// one in default and long modes. Short and race runs (qemu and the race
// detector make a child several times dearer) skip the middle of a
// repetition: a point equal to the points one before and one after it, or
// two before and two after. Per column, a Sync reaches vec.flush, a growth
// vec.grow.allocate then vec.grow.map, recovery table.recover.column then
// vec.adopt.bootid; the first and the last column of each are killed, the
// ones between add runs, not cases. Every step is still killed at each
// kind of point it reaches.
func killPoints(points []string) []int {
	every := mode() == "default" || mode() == "long"
	repeats := func(i, p int) bool {
		return i-p >= 0 && i+p < len(points) && points[i-p] == points[i] && points[i+p] == points[i]
	}
	var at []int
	for i := range points {
		if every || !(repeats(i, 1) || repeats(i, 2)) {
			at = append(at, i+1)
		}
	}
	return at
}

// pendingRun is a crash run whose child may still run.
type pendingRun struct {
	n   int
	dir string // its PERSIST_TEST_DIR
	log string
	c   *testproc.Child
}

func launchCrashRun(t *testing.T, role string, n int, env ...string) *pendingRun {
	t.Helper()
	log := filepath.Join(t.TempDir(), "points")
	return &pendingRun{n: n, log: log, c: testproc.Start(t, "", role, append(testproc.CrashAt(n, log), env...)...)}
}

func (r *pendingRun) wait(t *testing.T) crashRun {
	t.Helper()
	code := r.c.Wait()
	return crashRun{c: r.c, code: code, points: testproc.CrashLog(t, r.log)}
}

// crashRunsAhead runs the workload of role on a fresh table per run, each
// killed at a chosen crash point, one run ahead of the test: while the
// test checks the table of one run (and crashes its recovery), the child
// of the next already runs on the other core. Emulated children under qemu
// take most of the crash suite's time.
type crashRunsAhead struct {
	t     *testing.T
	role  string
	dirOf func() string // a fresh PERSIST_TEST_DIR
	next  *pendingRun
}

// run returns run n, finished, with its table's directory, and starts
// run following (none if 0) before it waits.
func (a *crashRunsAhead) run(n, following int) (crashRun, string) {
	a.t.Helper()
	r := a.next
	if r == nil || r.n != n {
		a.stop()
		r = a.launch(n)
	}
	a.next = nil
	if following > 0 {
		a.next = a.launch(following)
	}
	return r.wait(a.t), r.dir
}

func (a *crashRunsAhead) launch(n int) *pendingRun {
	dir := a.dirOf()
	r := launchCrashRun(a.t, a.role, n, "PERSIST_TEST_DIR="+dir, "PERSIST_BOOT_ID=boot-0")
	r.dir = dir
	return r
}

// stop kills the run started ahead, if any: deferred, so that no child
// outlives the test (or writes into a directory being removed).
func (a *crashRunsAhead) stop() {
	if a.next != nil {
		a.next.c.Kill()
		a.next = nil
	}
}
