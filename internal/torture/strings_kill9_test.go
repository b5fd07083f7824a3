// A process killed (SIGKILL) while it writes a table with string, []byte
// and Symbol columns: at random moments of random steps, at crash points of
// a fixed workload, and at crash points of the recovery that follows.

package torture_test

import (
	"fmt"
	"maps"
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
	roles["strings-random"] = roleStringsRandom
	roles["strings-workload"] = roleStringsWorkload
	roles["strings-open"] = roleStringsOpen
	roles["strings-steps"] = roleStringsSteps
}

func roleStringsRandom() int {
	dir := os.Getenv("PERSIST_TEST_DIR")
	s, _ := strconv.ParseUint(os.Getenv("PERSIST_TRIAL_SEED"), 10, 64)
	nextID, _ := strconv.ParseUint(os.Getenv("PERSIST_NEXT_ID"), 10, 64)
	rng := newRand(s)
	tb, err := openSTable(dir, false)
	if err != nil {
		testproc.Say("error open: %v", err)
		return 1
	}
	testproc.Say("open %d", tb.Len())
	for k := 0; ; k++ {
		o := randomSOp(rng, tb.Len(), nextID)
		if o.kind == 'A' {
			nextID += o.a
		}
		testproc.Say("begin %d %s", k, o)
		if tb, err = runSOp(tb, dir, o); err != nil {
			testproc.Say("error %d: %v", k, err)
			return 1
		}
		testproc.Say("ack %d", k)
	}
}

// TestTableStringsKill9Random runs random Append, AppendRows, SetRow (to
// longer and shorter values, and new symbols), SwapRemove, Truncate, Sync
// and Compact on a table with string, []byte and Symbol columns in a
// child, and SIGKILLs it at a random moment. Reopened in the same boot, the table must
// be the model's state with every acknowledged step, the step in flight
// absent or complete, every value exactly the one the model wrote for that
// row; a copy opened as after a restart must show a committed count, each
// value one the model wrote for that row, or empty where the row changed
// since the last Sync and Recovery.ValuesReset counts it. Trials continue
// on one table, sometimes across a restart (which the parent opens and
// checks the same way), and start afresh every few trials.
func TestTableStringsKill9Random(t *testing.T) {
	track(t)
	s := seed(t)
	rng := newRand(s)
	trials := counts{short: 6, race: 8, def: 40, long: 600}.n()
	var (
		dir             string
		m               smodel
		inFly           = map[byte]int{}
		restarts, reset int
	)
	for trial := range trials {
		if trial%8 == 0 {
			dir, m = filepath.Join(t.TempDir(), "table"), smodel{boot: "boot-0"}
		}
		if trial%8 != 0 && rng.IntN(3) == 0 {
			restarts++
			boot := fmt.Sprintf("boot-%d", restarts)
			rec, got, err := openRestarted(dir, boot, m, nil, false)
			if err == nil {
				err = fromCommit(rec)
			}
			if err != nil {
				t.Fatalf("trial %d (seed %d): restart into %s: %v", trial, s, boot, err)
			}
			m = m.apply(op{kind: 'B', boot: boot}).adopt(got)
			reset += rec.ValuesReset
		}
		tseed := rng.Uint64()
		c := testproc.Start(t, "", "strings-random", "PERSIST_TEST_DIR="+dir, "PERSIST_BOOT_ID="+m.boot,
			"PERSIST_TRIAL_SEED="+strconv.FormatUint(tseed, 10), "PERSIST_NEXT_ID="+strconv.FormatUint(m.nextID, 10))
		target := rng.IntN(60)
		if !c.WaitFor(2*time.Minute, func(lines []string) bool { return countAcks(lines) >= target }) {
			t.Fatalf("trial %d: child stopped early: %q\n%s", trial, tail(c), c.Stderr())
		}
		time.Sleep(time.Duration(rng.IntN(2000)) * time.Microsecond)
		c.Kill()
		lines := c.Lines()
		if len(lines) == 0 {
			lines = []string{"open " + strconv.Itoa(m.n)} // killed while opening
		}
		if !strings.HasPrefix(lines[0], "open ") {
			t.Fatalf("trial %d: child did not open: %q", trial, lines)
		}
		if got, _ := strconv.Atoi(strings.TrimPrefix(lines[0], "open ")); got != m.n {
			t.Fatalf("trial %d (trial seed %d): child opened %d rows, the model has %d", trial, tseed, got, m.n)
		}
		acked, inflight, err := sProgress(lines[1:])
		if err != nil {
			t.Fatalf("trial %d: %v", trial, err)
		}
		for _, o := range acked {
			m.do(o)
		}
		if inflight != nil {
			inFly[inflight.kind]++
		}
		what := fmt.Sprintf("trial %d (seed %d, trial seed %d), killed after %d steps, in flight %v", trial, s, tseed, len(acked), inflight)
		m = checkSAfterCrash(t, dir, m, inflight, what)
		if inflight != nil && inflight.kind == 'A' {
			m.nextID = max(m.nextID, inflight.b+inflight.a)
		}
		if t.Failed() {
			return
		}
	}
	fig.add(&fig.trials, trials)
	t.Logf("%d kill -9 trials of a string table, %d restarts between them (%d values reset); step in flight at the kill: %v C=%d",
		trials, restarts, reset, fmtKinds(inFly), inFly['C'])
}

// parseSOp is parseOp with 'C' (Compact).
func parseSOp(s string) (op, error) {
	if s == "C" {
		return op{kind: 'C'}, nil
	}
	return parseOp(s)
}

// sProgress reads a string workload child's lines: the steps acknowledged
// and the one in flight when it died, if any.
func sProgress(lines []string) (acked []op, inflight *op, err error) {
	for _, l := range lines {
		f := strings.SplitN(l, " ", 3)
		switch f[0] {
		case "begin":
			if len(f) != 3 {
				return nil, nil, fmt.Errorf("bad line %q", l)
			}
			o, err := parseSOp(f[2])
			if err != nil {
				return nil, nil, err
			}
			inflight = &o
		case "ack":
			if k, _ := strconv.Atoi(f[1]); k != len(acked) || inflight == nil {
				return nil, nil, fmt.Errorf("ack %d after %d steps acknowledged", k, len(acked))
			}
			acked, inflight = append(acked, *inflight), nil
		case "error":
			return nil, nil, fmt.Errorf("child: %s", l)
		}
	}
	return acked, inflight, nil
}

// checkSAfterCrash checks the table left in dir by a process that died with
// step o in flight after reaching state m (o nil: it finished). A copy is
// opened as after a restart (see openRestarted); then dir itself in the
// writer's boot, which must be one of the states exactly. It returns the
// state found, with the committed count the copy showed.
func checkSAfterCrash(t *testing.T, dir string, m smodel, o *op, what string) smodel {
	t.Helper()
	states := []smodel{m}
	if o != nil {
		states = append(states, m.apply(*o))
	}
	committed := 0
	if !manifestExists(dir) {
		if m.n != 0 || m.committed != 0 {
			t.Fatalf("%s: the table is gone", what)
		}
		// Killed while creating it: Open below creates it afresh.
	} else {
		rec, _, err := openRestarted(copyDir(t, dir), "restart-after-"+strconv.Itoa(os.Getpid()), m, o, false)
		if err == nil {
			err = fromCommit(rec)
		}
		if err != nil {
			t.Fatalf("%s: restart view: %v", what, err)
		}
		committed = rec.CommittedRows
	}
	bootid.Override(states[len(states)-1].boot)
	defer bootid.Override("")
	tb, err := openSTable(dir, false)
	if err != nil {
		t.Fatalf("%s: reopen: %v", what, err)
	}
	defer tb.Close()
	// A kill while a new boot's open adopted the files leaves some with
	// the old boot id: with no step in flight, "committed" is right too.
	if src := tb.Recovered().Source; src != table.SourceLive && src != table.SourceNew && o != nil && o.kind != 'B' {
		t.Errorf("%s: same boot, but the row count came from %q", what, src)
	}
	k, got, err := matchStates(tb, states)
	if err != nil {
		t.Fatalf("%s: %v (recovery: %s)", what, err, tb.Recovered())
	}
	found := states[k].adopt(got)
	found.committed = committed
	// Whether a Sync in flight committed is not known: its rows stay
	// touched.
	for i := range m.touched {
		found.touch(i)
	}
	if o != nil && o.kind == 'A' && found.n == m.n {
		// The cut append may have written some columns of its slots,
		// which a later restart may show again.
		for i := m.n; i < m.n+int(o.a); i++ {
			if i >= len(found.mem) {
				found.mem = append(found.mem, sval{})
			}
			found.addAlt(i, states[1].mem[i])
			found.touch(i)
		}
	}
	return found
}

// fixedSWorkload touches every write path of a string table: creation,
// both appends (and growth of every file), SetRow to longer and
// shorter values and to new symbols, SwapRemove, Truncate, Syncs, a
// restart after a change in place that the restart resets, and Compact.
func fixedSWorkload() []op {
	m := smodel{boot: "boot-0"}
	var ops []op
	add := func(o op) {
		ops = append(ops, o)
		m.do(o)
	}
	// SetRow to the first version with values of these shapes.
	set := func(i int, url, body, country int) {
		ver := uint32(2)
		for {
			if _, u, b, c := sShape(m.mem[i].ID, ver); u == url && b == body && c == country {
				break
			}
			ver++
		}
		add(op{kind: 'S', a: uint64(i), b: uint64(ver)})
	}
	longer := func(i int) { set(i, vLong, vLong, vLong) }     // longer than a page, and a new symbol
	shorter := func(i int) { set(i, vEmpty, vEmpty, vShort) } // empty, and a common symbol
	add(op{kind: 'A', a: 10, b: m.nextID})
	add(op{kind: 'A', a: 1, b: m.nextID})
	add(op{kind: 'A', a: 1, b: m.nextID})
	add(op{kind: 'Y'})
	longer(3)
	shorter(4)
	add(op{kind: 'R', a: 2})
	add(op{kind: 'R', a: 10}) // the last row: nothing to move
	add(op{kind: 'T', a: 6})
	add(op{kind: 'Y'})
	big := 1200 // grows every file
	if long() {
		big = 4200 // and AppendRows stages the fixed columns
	}
	add(op{kind: 'A', a: uint64(big), b: m.nextID})
	longer(100)
	add(op{kind: 'Y'})
	add(op{kind: 'R', a: 0})
	longer(5)                          // after the Sync, then
	add(op{kind: 'B', boot: "boot-1"}) // a restart resets it
	add(op{kind: 'A', a: 1, b: m.nextID})
	add(op{kind: 'A', a: 5, b: m.nextID})
	add(op{kind: 'Y'})
	add(op{kind: 'A', a: 700, b: m.nextID})
	add(op{kind: 'T', a: 300})
	add(op{kind: 'C'}) // the bytes of every row cut and changed, and spare capacity
	add(op{kind: 'A', a: 3, b: m.nextID})
	add(op{kind: 'C'}) // spare capacity only
	add(op{kind: 'Y'})
	return ops
}

func replayS(ops []op, boot string) smodel {
	m := smodel{boot: boot}
	for _, o := range ops {
		m.do(o)
	}
	return m
}

func roleStringsWorkload() int {
	dir := os.Getenv("PERSIST_TEST_DIR")
	tb, err := openSTable(dir, false)
	if err != nil {
		testproc.Say("error open: %v", err)
		return 1
	}
	for k, o := range fixedSWorkload() {
		testproc.Say("begin %d %s", k, o)
		if tb, err = runSOp(tb, dir, o); err != nil {
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

// roleStringsOpen opens the table (recovering it) and closes it.
func roleStringsOpen() int {
	tb, err := openSTable(os.Getenv("PERSIST_TEST_DIR"), false)
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

// samplePoints returns the crash points (1-based) to kill at, of the
// points a complete run reached: per of each name (the first, and others
// drawn at random), so that every kind of step is killed at in a short
// run; every one for per 0.
func samplePoints(rng interface{ IntN(int) int }, points []string, per int) []int {
	at := map[string][]int{}
	var ns []int
	for i, p := range points {
		at[p] = append(at[p], i+1)
		ns = append(ns, i+1)
	}
	if per == 0 {
		return ns
	}
	ns = ns[:0]
	for _, name := range slices.Sorted(maps.Keys(at)) { // the draws follow the seed
		idx := at[name]
		pick := []int{idx[0]}
		for len(pick) < min(per, len(idx)) {
			if k := idx[rng.IntN(len(idx))]; !slices.Contains(pick, k) {
				pick = append(pick, k)
			}
		}
		ns = append(ns, pick...)
	}
	slices.Sort(ns)
	return ns
}

// TestTableStringsCrashPoints kills a child at crash points of a fixed
// workload on a string table (all of them in long mode, else a few of
// each name: appends, growth of every file, intents, SetRow, SwapRemove,
// Sync, Compact, the creation, and the open after a restart), and checks
// each crashed table as after a restart and as after a process crash: the
// state before the step or after it, never between. For the first kill at
// each point that leaves recovery work (in a short run: an intent, a
// switched compaction), it then kills the recovering Open at its own crash
// points, in a new boot and (but in short and race runs) in the same one,
// and checks the result again.
func TestTableStringsCrashPoints(t *testing.T) {
	track(t)
	s := seed(t)
	rng := newRand(s)
	ops := fixedSWorkload()
	fullDir := filepath.Join(t.TempDir(), "table")
	full := startCrashRun(t, "strings-workload", 0, "PERSIST_TEST_DIR="+fullDir, "PERSIST_BOOT_ID=boot-0")
	if full.code != 0 {
		t.Fatalf("the workload failed: %q\n%s", tail(full.c), full.c.Stderr())
	}
	// The complete run, checked as after a crash with nothing in flight.
	checkSAfterCrash(t, fullDir, replayS(ops, "boot-0"), nil, "complete run")
	reached := map[string]int{}
	runs, recoveryRuns := 0, 0
	ahead := &crashRunsAhead{t: t, role: "strings-workload", dirOf: func() string { return filepath.Join(t.TempDir(), "table") }}
	defer ahead.stop()
	at := samplePoints(rng, full.points, counts{short: 1, race: 1, def: 2}.n())
	for i, n := range at {
		following := 0
		if i+1 < len(at) {
			following = at[i+1]
		}
		r, dir := ahead.run(n, following)
		if r.code == 0 || !r.c.Killed() || len(r.points) < n {
			t.Fatalf("run %d: child ended with %v after %d crash points, want SIGKILL at point %d; stdout %q",
				n, r.c.Cmd.ProcessState, len(r.points), n, tail(r.c))
		}
		runs++
		// Sync flushes files in parallel goroutines: points reached by
		// others may be logged after the one that killed, which is the n-th.
		point := r.points[n-1]
		reached[point]++
		fig.hook(point)
		acked, inflight, err := sProgress(r.c.Lines())
		if err != nil {
			t.Fatalf("run %d: %v", n, err)
		}
		m := replayS(acked, "boot-0")
		what := fmt.Sprintf("seed %d, run %d, killed at %s in step %d (%v)", s, n, point, len(acked), inflight)
		leavesWork := map[string]bool{"table.intent.written": true, "table.setrow.applied": true,
			"table.swapremove.moved": true, "table.appendrows.column": true, "table.compact.switch": true}[point]
		if m := mode(); m == "short" || m == "race" {
			leavesWork = point == "table.intent.written" || point == "table.compact.switch"
		}
		if reached[point] == 1 && inflight != nil && (leavesWork || long()) {
			recoveryRuns += crashSRecovery(t, rng, dir, m, *inflight, what, reached)
		}
		checkSAfterCrash(t, dir, m, inflight, what)
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
	t.Logf("%d crash runs of the workload (%d steps, %d crash points) and %d of recovery; points killed: %s",
		runs, len(ops), len(full.points), recoveryRuns, strings.Join(names, ", "))
	for _, want := range []string{"table.create.columns", "table.create.commit", "table.create.rename", "table.append",
		"table.appendrows.column", "table.intent.write", "table.intent.written", "table.intent.clear", "table.setrow.applied",
		"table.swapremove.moved", "table.sync.flush", "table.sync.commit", "table.sync.commit.written", "table.sync.done",
		"table.wal.create", "table.sync.log", "table.sync.log.written",
		"table.recover.lengths", "table.recover.redo", "table.recover.clear", "vec.grow.allocate", "vec.grow.map", "vec.flush",
		"table.compact.build", "table.compact.record", "table.compact.switch", "table.compact.cut", "table.schema.finish"} {
		if reached[want] == 0 {
			t.Errorf("crash point %s was never reached", want)
		}
	}
}

// crashSRecovery kills Opens of copies of a crashed table at their crash
// points (one of each name, every one in long mode), in another boot and
// (but in short and race modes) in the writer's, and checks each result.
// It returns the number of runs.
func crashSRecovery(t *testing.T, rng interface{ IntN(int) int }, crashed string, m smodel, o op, what string, reached map[string]int) (runs int) {
	t.Helper()
	boots := []string{m.apply(o).boot, "recovery-boot"}
	if m := mode(); m == "short" || m == "race" {
		boots = boots[1:] // a new boot: the extents from COMMIT, values reset
	}
	for _, boot := range boots {
		full := startCrashRun(t, "strings-open", 0, "PERSIST_TEST_DIR="+copyDir(t, crashed), "PERSIST_BOOT_ID="+boot)
		if full.code != 0 {
			t.Fatalf("%s: recovery in %s failed: %q\n%s", what, boot, full.c.Lines(), full.c.Stderr())
		}
		for _, k := range samplePoints(rng, full.points, counts{short: 1, race: 1, def: 1}.n()) {
			dir := copyDir(t, crashed)
			r := startCrashRun(t, "strings-open", k, "PERSIST_TEST_DIR="+dir, "PERSIST_BOOT_ID="+boot)
			if r.code == 0 || !r.c.Killed() || len(r.points) < k {
				t.Fatalf("%s: recovery in %s: child ended with %v after %d points, want SIGKILL at %d: %q",
					what, boot, r.c.Cmd.ProcessState, len(r.points), k, r.c.Lines())
			}
			runs++
			point := r.points[k-1]
			reached[point]++
			fig.hook(point)
			w := fmt.Sprintf("%s; recovery in %s killed at %s (point %d)", what, boot, point, k)
			if boot == "recovery-boot" {
				// A restart came first: the rows of the last Sync, with
				// the step in flight redone or not.
				if _, _, err := openRestarted(dir, boot, m, &o, true); err != nil {
					t.Fatalf("%s: %v", w, err)
				}
			} else {
				checkSAfterCrash(t, dir, m, &o, w)
			}
			if t.Failed() {
				return runs
			}
		}
	}
	return runs
}

// roleStringsSteps runs the steps in PERSIST_STEPS (ops separated by ";").
func roleStringsSteps() int {
	dir := os.Getenv("PERSIST_TEST_DIR")
	tb, err := openSTable(dir, false)
	if err != nil {
		testproc.Say("error open: %v", err)
		return 1
	}
	for k, s := range strings.Split(os.Getenv("PERSIST_STEPS"), ";") {
		o, err := parseSOp(s)
		if err == nil {
			testproc.Say("begin %d %s", k, o)
			tb, err = runSOp(tb, dir, o)
		}
		if err != nil {
			testproc.Say("error %d: %v", k, err)
			return 1
		}
		testproc.Say("ack %d", k)
	}
	if err := tb.Close(); err != nil {
		testproc.Say("error close: %v", err)
		return 1
	}
	return 0
}

// killAt runs role in a child that SIGKILLs itself at the first crash
// point named point, and fails the test unless it did.
func killAt(t *testing.T, role, point string, env ...string) {
	t.Helper()
	r := startCrashRun(t, role, 1, append(env, "PERSIST_CRASH_NAME="+point)...)
	if !r.c.Killed() {
		t.Fatalf("%s: not killed at %s: %v, %q\n%s", role, point, r.c.Cmd.ProcessState, r.c.Lines(), r.c.Stderr())
	}
}

// TestTableStringsRestartRecoveryKilled: a step is killed after a Sync with
// its intent written; the machine restarts, and the Open that recovers is
// killed before it clears the intent. The next Open, in that same boot,
// must open the table, as after a restart. Two cases: a SetRow to longer
// values (the recovery redoes it, then resets its values, which point past
// what the Sync committed), and a Truncate of rows appended after the Sync
// (the recovery discards it: it is not about the committed rows). Guards a
// bug this suite found: the killed Open had made every file this boot's,
// so the next one took the rows as live and the intent as this boot's, and
// failed with ErrCorrupt until the next restart.
func TestTableStringsRestartRecoveryKilled(t *testing.T) {
	track(t)
	ver := uint32(2)
	for _, u, b, _ := sShape(1, ver); u != vLong || b == vEmpty; _, u, b, _ = sShape(1, ver) {
		ver++
	}
	for _, c := range []struct {
		name  string
		steps []op
	}{
		{"SetRow redone", []op{{kind: 'A', a: 3}, {kind: 'Y'}, {kind: 'S', a: 1, b: uint64(ver)}}},
		{"Truncate discarded", []op{{kind: 'A', a: 12}, {kind: 'Y'}, {kind: 'A', a: 1, b: 12}, {kind: 'T', a: 6}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "table")
			steps, last := c.steps[:len(c.steps)-1], c.steps[len(c.steps)-1]
			var env []string
			for _, o := range c.steps {
				env = append(env, o.String())
			}
			killAt(t, "strings-steps", "table.intent.written", "PERSIST_TEST_DIR="+dir, "PERSIST_BOOT_ID=boot-0", "PERSIST_STEPS="+strings.Join(env, ";"))
			killAt(t, "strings-open", "table.recover.clear", "PERSIST_TEST_DIR="+dir, "PERSIST_BOOT_ID=restart")
			if _, _, err := openRestarted(dir, "restart", replayS(steps, "boot-0"), &last, true); err != nil {
				t.Fatalf("open after the restart's recovery was killed: %v", err)
			}
		})
	}
}

// TestTableStringsTruncateIntentValuesReset: a SetRow to longer values
// after a Sync, then a Truncate of the committed rows killed with its
// intent written; after a restart the Open redoes the Truncate and resets
// the SetRow's values, which point past what the Sync committed.
// Recovery.ValuesReset must count those, and nothing else: a Truncate's
// journal record carries no row that recovery writes.
func TestTableStringsTruncateIntentValuesReset(t *testing.T) {
	track(t)
	ver := uint32(2)
	for _, u, b, c := sShape(1, ver); u != vLong || b != vLong || c != vLong; _, u, b, c = sShape(1, ver) {
		ver++
	}
	// Compact commits by a checkpoint: a logged Sync would leave a record
	// whose replay puts row 1 back as synced, with nothing to reset.
	steps := []op{{kind: 'A', a: 3}, {kind: 'C'}, {kind: 'S', a: 1, b: uint64(ver)}, {kind: 'T', a: 2}}
	var env []string
	for _, o := range steps {
		env = append(env, o.String())
	}
	dir := filepath.Join(t.TempDir(), "table")
	// The second intent written is the Truncate's.
	r := startCrashRun(t, "strings-steps", 2, "PERSIST_CRASH_NAME=table.intent.written", "PERSIST_TEST_DIR="+dir,
		"PERSIST_BOOT_ID=boot-0", "PERSIST_STEPS="+strings.Join(env, ";"))
	if !r.c.Killed() {
		t.Fatalf("not killed at the Truncate's intent: %v, %q", r.c.Cmd.ProcessState, r.c.Lines())
	}
	rec, _, err := openRestarted(dir, "restart", replayS(steps[:3], "boot-0"), &steps[3], false)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Intent == "" || rec.ValuesReset != 3 {
		t.Fatalf("the row's 3 values reset, want Recovery.ValuesReset 3 with the Truncate redone: %s", rec)
	}
}
