// A process killed (SIGKILL) while it writes a table: at random moments of
// random steps, at every crash point of a fixed workload, and again at every
// crash point of the recovery that follows.

package torture_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mmapvec/persistence/internal/bootid"
	"github.com/mmapvec/persistence/internal/testproc"
	"github.com/mmapvec/persistence/table"
)

func init() {
	roles["table-workload"] = roleTableWorkload
	roles["table-random"] = roleTableRandom
	roles["table-open"] = roleTableOpen
}

func roleTableRandom() int {
	dir := os.Getenv("PERSIST_TEST_DIR")
	s, _ := strconv.ParseUint(os.Getenv("PERSIST_TRIAL_SEED"), 10, 64)
	nextID, _ := strconv.ParseUint(os.Getenv("PERSIST_NEXT_ID"), 10, 64)
	rng := newRand(s)
	tb, err := openTable(dir, false)
	if err != nil {
		testproc.Say("error open: %v", err)
		return 1
	}
	testproc.Say("open %d", tb.Len())
	for k := 0; ; k++ {
		o := randomOp(rng, tb.Len(), nextID)
		if o.kind == 'A' {
			nextID += o.a
		}
		testproc.Say("begin %d %s", k, o)
		if tb, err = runTableOp(tb, dir, o); err != nil {
			testproc.Say("error %d: %v", k, err)
			return 1
		}
		testproc.Say("ack %d", k)
	}
}

// TestTableKill9Random runs random appends (single and batched), SetRow,
// SwapRemove, Truncate and Sync in a child and SIGKILLs it at a random
// moment; then every acknowledged step must be in the table, the step in
// flight absent or complete, no row torn, every column as long as the
// table; and a copy opened as after a reboot must show a committed count.
// Trials continue on one table, sometimes across a reboot, and start
// afresh every few trials.
func TestTableKill9Random(t *testing.T) {
	track(t)
	s := seed(t)
	rng := newRand(s)
	trials := counts{short: 20, race: 20, def: 200, long: 1000}.n()
	var (
		dir    string
		m      tableModel
		inFly  = map[byte]int{}
		reboot int
	)
	for trial := range trials {
		if trial%10 == 0 {
			dir, m = filepath.Join(t.TempDir(), "table"), tableModel{boot: "boot-0"}
		}
		if trial%10 != 0 && rng.IntN(4) == 0 {
			reboot++
			m.do(op{kind: 'B', boot: fmt.Sprintf("boot-%d", reboot)})
			m = adoptRestart(t, dir, m, fmt.Sprintf("trial %d", trial))
		}
		tseed := rng.Uint64()
		c := testproc.Start(t, "", "table-random", "PERSIST_TEST_DIR="+dir, "PERSIST_BOOT_ID="+m.boot,
			"PERSIST_TRIAL_SEED="+strconv.FormatUint(tseed, 10), "PERSIST_NEXT_ID="+strconv.FormatUint(m.nextID, 10))
		target := rng.IntN(200)
		if !c.WaitFor(2*time.Minute, func(lines []string) bool { return countAcks(lines) >= target }) {
			t.Fatalf("trial %d: child stopped early: %q\n%s", trial, tail(c), c.Stderr())
		}
		time.Sleep(time.Duration(rng.IntN(500)) * time.Microsecond)
		c.Kill()
		lines := c.Lines()
		if len(lines) == 0 {
			lines = []string{"open " + strconv.Itoa(m.n)} // killed while opening
		}
		if !strings.HasPrefix(lines[0], "open ") {
			t.Fatalf("trial %d: child did not open: %q", trial, lines)
		}
		if got, _ := strconv.Atoi(strings.TrimPrefix(lines[0], "open ")); got != m.n {
			t.Fatalf("trial %d (seed %d): child opened %d rows, the model has %d", trial, tseed, got, m.n)
		}
		acked, inflight, err := progress(lines[1:])
		if err != nil {
			t.Fatalf("trial %d: %v", trial, err)
		}
		for _, l := range lines[1:] {
			if strings.HasPrefix(l, "begin ") {
				if strings.HasPrefix(l, fmt.Sprintf("begin %d ", acked+1)) {
					break
				}
				o, _ := parseOp(strings.SplitN(l, " ", 3)[2])
				m.do(o)
			}
		}
		if inflight != nil {
			inFly[inflight.kind]++
		}
		what := fmt.Sprintf("trial %d (trial seed %d), killed after %d steps, in flight %v", trial, tseed, acked+1, inflight)
		m = checkTableAfterCrash(t, dir, m, inflight, what)
		if inflight != nil && inflight.kind == 'A' {
			m.nextID = max(m.nextID, inflight.b+inflight.a)
		}
		if t.Failed() {
			return
		}
	}
	fig.add(&fig.trials, trials)
	t.Logf("%d kill -9 trials, %d simulated reboots between them; step in flight at the kill: %v", trials, reboot, fmtKinds(inFly))
}

// fixedTableWorkload touches every write path of a table: creation, both
// appends, growth, the three journaled operations, syncs and a reboot.
func fixedTableWorkload() []op {
	m := tableModel{boot: "boot-0"}
	var ops []op
	add := func(o op) {
		ops = append(ops, o)
		m.do(o)
	}
	add(op{kind: 'A', a: 10, b: m.nextID})
	add(op{kind: 'A', a: 1, b: m.nextID})
	add(op{kind: 'Y'})
	add(op{kind: 'S', a: 3, b: 77})
	add(op{kind: 'R', a: 2})
	add(op{kind: 'R', a: 9}) // the last row: nothing to move
	add(op{kind: 'T', a: 6})
	add(op{kind: 'Y'})
	add(op{kind: 'A', a: 4000, b: m.nextID})
	add(op{kind: 'S', a: 100, b: 5})
	add(op{kind: 'Y'})
	add(op{kind: 'R', a: 0})
	add(op{kind: 'B', boot: "boot-1"})
	add(op{kind: 'A', a: 5, b: m.nextID})
	add(op{kind: 'Y'})
	add(op{kind: 'A', a: 6000, b: m.nextID})
	add(op{kind: 'T', a: 1000})
	add(op{kind: 'Y'})
	return ops
}

func roleTableWorkload() int {
	dir := os.Getenv("PERSIST_TEST_DIR")
	tb, err := openTable(dir, false)
	if err != nil {
		testproc.Say("error open: %v", err)
		return 1
	}
	for k, o := range fixedTableWorkload() {
		testproc.Say("begin %d %s", k, o)
		if tb, err = runTableOp(tb, dir, o); err != nil {
			testproc.Say("error %d: %v", k, err)
			return 1
		}
		testproc.Say("ack %d", k)
	}
	if err := tb.Close(); err != nil {
		testproc.Say("error close: %v", err)
		return 1
	}
	testproc.Say("done")
	return 0
}

// roleTableOpen opens the table (recovering it) and closes it.
func roleTableOpen() int {
	tb, err := openTable(os.Getenv("PERSIST_TEST_DIR"), false)
	if err != nil {
		testproc.Say("error open: %v", err)
		return 1
	}
	testproc.Say("recovered %d: %s", tb.Len(), tb.Recovered())
	if err := tb.Close(); err != nil {
		return 1
	}
	return 0
}

// TestTableCrashAtEveryPoint kills a child at each crash point of a fixed
// table workload (killPoints: in short and race runs, the ends of each
// stretch of equal points), and checks each crashed table as after a
// reboot and as after a process crash. For the first kill at each point
// that leaves recovery work (an intent, unequal columns), it then kills the
// recovering Open at its own crash points, in the same boot and in a new
// one, and checks the result again.
func TestTableCrashAtEveryPoint(t *testing.T) {
	track(t)
	ops := fixedTableWorkload()
	reached := map[string]int{}
	runs, recoveryRuns := 0, 0
	// The complete run names the points, and is checked as after a crash
	// with nothing in flight.
	fullDir := filepath.Join(t.TempDir(), "table")
	full := startCrashRun(t, "table-workload", 0, "PERSIST_TEST_DIR="+fullDir, "PERSIST_BOOT_ID=boot-0")
	if full.code != 0 {
		t.Fatalf("the workload failed: %q\n%s", tail(full.c), full.c.Stderr())
	}
	checkTableAfterCrash(t, fullDir, replay[trow](ops, "boot-0"), nil, "complete run")
	ahead := &crashRunsAhead{t: t, role: "table-workload", dirOf: func() string { return filepath.Join(t.TempDir(), "table") }}
	defer ahead.stop()
	at := killPoints(full.points)
	for i, n := range at {
		following := 0
		if i+1 < len(at) {
			following = at[i+1]
		}
		r, dir := ahead.run(n, following)
		c, lines, points := r.c, r.c.Lines(), r.points
		// Sync flushes columns in parallel goroutines: points reached by
		// others may be logged after the one that killed, which is the n-th.
		if r.code == 0 || !c.Killed() || len(points) < n {
			t.Fatalf("run %d: child ended with %v after %d crash points, want SIGKILL at point %d; stdout %q",
				n, c.Cmd.ProcessState, len(points), n, lines)
		}
		runs++
		point := points[n-1]
		reached[point]++
		fig.hook(point)
		acked, inflight, err := progress(lines)
		if err != nil {
			t.Fatalf("run %d: %v", n, err)
		}
		m := replay[trow](ops[:acked+1], "boot-0")
		what := fmt.Sprintf("run %d, killed at %s in step %d (%v)", n, point, acked+1, inflight)
		// Recovery has work to crash in after these points; in long mode
		// it is killed after every point.
		// A logged Sync's record leaves records to apply after a restart.
		leavesWork := map[string]bool{"table.intent.written": true, "table.setrow.applied": true,
			"table.swapremove.moved": true, "table.appendrows.column": true, "table.sync.log.written": true}[point]
		if m := mode(); m == "short" || m == "race" {
			// One intent and one record, to keep emulated and race-detector runs short.
			leavesWork = point == "table.intent.written" || point == "table.sync.log.written"
		}
		if reached[point] == 1 && inflight != nil && (leavesWork || long()) {
			recoveryRuns += crashRecovery(t, dir, m, *inflight, what, reached)
		}
		checkTableAfterCrash(t, dir, m, inflight, what)
		if t.Failed() {
			return
		}
	}
	fig.add(&fig.crashRuns, runs+recoveryRuns)
	var names []string
	for name, k := range reached {
		names = append(names, fmt.Sprintf("%s×%d", name, k))
	}
	slices.Sort(names)
	t.Logf("%d crash runs of the workload (%d steps) and %d of recovery; points killed: %s", runs, len(ops), recoveryRuns, strings.Join(names, ", "))
	for _, want := range []string{"table.create.columns", "table.create.commit", "table.create.rename", "table.append",
		"table.appendrows.column", "table.intent.write", "table.intent.written", "table.intent.clear", "table.setrow.applied",
		"table.swapremove.moved", "table.sync.flush", "table.sync.commit", "table.sync.commit.written", "table.sync.done",
		"table.wal.create", "table.sync.log", "table.sync.log.written", "table.recover.replay",
		"table.recover.lengths", "table.recover.redo", "table.recover.clear"} {
		if reached[want] == 0 {
			t.Errorf("crash point %s was never reached", want)
		}
	}
}

// crashRecovery kills Opens of copies of a crashed table at their crash
// points (killPoints), in the writer's boot and in another, and checks each
// result. It returns the number of runs.
func crashRecovery(t *testing.T, crashed string, m tableModel, o op, what string, reached map[string]int) int {
	t.Helper()
	runs := 0
	for _, boot := range []string{m.apply(o).boot, "recovery-boot"} {
		open := func(k int) (string, *testproc.Child, []string) {
			dir := copyDir(t, crashed)
			logPath := filepath.Join(t.TempDir(), "points")
			c := testproc.Start(t, "", "table-open", append(testproc.CrashAt(k, logPath), "PERSIST_TEST_DIR="+dir, "PERSIST_BOOT_ID="+boot)...)
			c.Wait()
			return dir, c, testproc.CrashLog(t, logPath)
		}
		_, full, fullPoints := open(0)
		if full.Cmd.ProcessState.ExitCode() != 0 {
			t.Fatalf("%s: recovery in %s failed: %q", what, boot, full.Lines())
		}
		for _, k := range killPoints(fullPoints) {
			dir, c, points := open(k)
			if !c.Killed() || len(points) < k {
				t.Fatalf("%s: recovery in %s: child ended with %v after %d points, want SIGKILL at point %d: %q",
					what, boot, c.Cmd.ProcessState, len(points), k, c.Lines())
			}
			runs++
			reached[points[k-1]]++
			fig.hook(points[k-1])
			rm := m
			if boot == "recovery-boot" {
				// A reboot came first: the rows of the last Sync, with
				// the step in flight redone or not.
				rm = m.apply(op{kind: 'B', boot: boot})
			}
			w := fmt.Sprintf("%s; recovery in %s killed at %s (point %d)", what, boot, points[k-1], k)
			if boot == "recovery-boot" {
				checkRecoveredInNewBoot(t, dir, m, o, w)
			} else {
				checkTableAfterCrash(t, dir, rm, &o, w)
			}
			if t.Failed() {
				return runs
			}
		}
	}
	return runs
}

// checkTableAfterCrash checks the table left in dir by a process that died
// with step o in flight after reaching state m (o nil: it finished). First
// a copy is opened as after a reboot: exactly a committed row count, each
// row one that some state wrote. Then dir itself is opened in the writer's
// boot: one of the states exactly. It returns the state found.
func checkTableAfterCrash(t *testing.T, dir string, m tableModel, o *op, what string) tableModel {
	t.Helper()
	states := []tableModel{m}
	if o != nil {
		states = append(states, m.apply(*o))
	}
	committed := 0
	if _, err := os.Stat(filepath.Join(dir, "manifest.json")); errors.Is(err, os.ErrNotExist) {
		if m.n != 0 || m.committed != 0 {
			t.Fatalf("%s: the table is gone: %v", what, err)
		}
		// Killed while creating it: Open below creates it afresh.
	} else {
		committed = checkRebootView(t, copyDir(t, dir), m, o, states, what)
	}
	bootid.Override(states[len(states)-1].boot)
	defer bootid.Override("")
	tb, err := openTable(dir, false)
	if err != nil {
		t.Fatalf("%s: reopen: %v", what, err)
	}
	defer tb.Close()
	// A kill while a new boot's open adopted the columns leaves some with
	// the old boot id: with no step in flight, "committed" is right too.
	if src := tb.Recovered().Source; src != table.SourceLive && src != table.SourceNew && o != nil && o.kind != 'B' {
		t.Errorf("%s: same boot, but the row count came from %q", what, src)
	}
	k, err := checkTable(tb, states)
	if err != nil {
		t.Fatalf("%s: %v (recovery: %s)", what, err, tb.Recovered())
	}
	found := states[k].clone()
	found.committed = committed
	if o != nil && o.kind == 'A' && found.n == m.n {
		if err := readTableTail(tb, &found, int(o.a)); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	return found
}

// checkRebootView opens a copy of a crashed table in another boot and
// returns its committed row count (which a redone intent may differ from).
func checkRebootView(t *testing.T, dir string, m tableModel, o *op, states []tableModel, what string) int {
	t.Helper()
	bootid.Override("reboot-after-" + strconv.Itoa(os.Getpid()))
	defer bootid.Override("")
	tb, err := openTable(dir, false)
	if err != nil {
		t.Fatalf("%s: reboot view: %v", what, err)
	}
	defer tb.Close()
	rec := tb.Recovered()
	lens := rebootCounts(m, o, states, rec, false)
	if !slices.Contains(lens, tb.Len()) {
		t.Fatalf("%s: reboot view: %d rows, want a committed count %v (recovery: %s)", what, tb.Len(), lens, rec)
	}
	if rec.Source != table.SourceCommitted && rec.Source != table.SourceNew {
		t.Fatalf("%s: reboot view: row count from %q", what, rec.Source)
	}
	if err := checkFiles(tb); err != nil {
		t.Fatalf("%s: reboot view: %v", what, err)
	}
	got, err := readRows(tb)
	if err != nil {
		t.Fatalf("%s: reboot view: %v", what, err)
	}
	for i, r := range got {
		ok := false
		for _, s := range states {
			ok = ok || (i < len(s.mem) && s.mem[i] == r) || (i < len(s.synced) && s.synced[i] == r)
		}
		if ok {
			continue
		}
		// Documented: across an OS crash a row changed in place since the
		// last Sync may be old or new per column. A kill leaves that only
		// where a step in flight was writing: an append over rows cut by a
		// Truncate, or an in-place step whose intent the reboot discarded.
		inFlight := o != nil && ((o.kind == 'A' && i >= m.n && i < m.n+int(o.a)) ||
			((o.kind == 'S' || o.kind == 'R') && i == int(o.a) && rec.IntentDiscarded != ""))
		if !inFlight {
			t.Fatalf("%s: reboot view: row %d is %+v (torn %v), written by none of the states (recovery: %s)", what, i, r, r.torn(), rec)
		}
	}
	return rec.CommittedRows
}

// rebootCounts are the row counts a table may have after a reboot: a
// committed count, or the count after redoing a SwapRemove or Truncate
// made on exactly the committed rows (FORMAT.md: such an intent is redone
// after a reboot too). redoneBefore: an open in this boot was killed
// after it may have redone the intent and cleared it (Close checkpoints
// after a logged Sync: crash points past the clear), so this open finds
// the redone count with no intent to report.
func rebootCounts(m tableModel, o *op, states []tableModel, rec table.Recovery, redoneBefore bool) []int {
	var lens []int
	for _, s := range states {
		lens = append(lens, s.committed)
	}
	if o != nil && (rec.Intent != "" || redoneBefore) && m.n == m.committed {
		switch o.kind {
		case 'R':
			lens = append(lens, m.committed-1)
		case 'T':
			lens = append(lens, int(o.a))
		}
	}
	return lens
}

// checkRecoveredInNewBoot opens a table whose recovery in a new boot was
// killed: it must show a committed count, as after a reboot.
func checkRecoveredInNewBoot(t *testing.T, dir string, m tableModel, o op, what string) {
	t.Helper()
	states := []tableModel{m, m.apply(o)}
	bootid.Override("recovery-boot")
	defer bootid.Override("")
	tb, err := openTable(dir, false)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	defer tb.Close()
	lens := rebootCounts(m, &o, states, tb.Recovered(), true)
	if !slices.Contains(lens, tb.Len()) {
		t.Fatalf("%s: %d rows, want a committed count %v (recovery: %s)", what, tb.Len(), lens, tb.Recovered())
	}
	for i := range tb.Len() {
		if r := tb.Row(i); r.torn() && !(i == int(o.a) && (o.kind == 'S' || o.kind == 'R')) {
			t.Fatalf("%s: row %d is torn: %+v", what, i, r)
		}
	}
}

// adoptRestart opens the table in dir in m's boot, a restart, and returns
// m with the rows the open left: the open applies the log, which puts a
// row changed in place since the last Sync back as that Sync left it if a
// record holds it. Every other row must be m's.
func adoptRestart(t *testing.T, dir string, m tableModel, what string) tableModel {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dir, "manifest.json")); err != nil {
		return m // never created
	}
	bootid.Override(m.boot)
	defer bootid.Override("")
	tb, err := openTable(dir, false)
	if err != nil {
		t.Fatalf("%s: open after a restart: %v", what, err)
	}
	defer tb.Close()
	if tb.Len() != m.n {
		t.Fatalf("%s: open after a restart: %d rows, the last Sync had %d (recovery: %s)", what, tb.Len(), m.n, tb.Recovered())
	}
	m = m.clone()
	for i := range m.n {
		r := tb.Row(i)
		switch {
		case r == m.mem[i]:
		case i < len(m.synced) && r == m.synced[i]:
			m.mem[i] = r
		default:
			t.Fatalf("%s: open after a restart: row %d is %+v, neither %+v nor as the last Sync left it (recovery: %s)", what, i, r, m.mem[i], tb.Recovered())
		}
	}
	return m
}
