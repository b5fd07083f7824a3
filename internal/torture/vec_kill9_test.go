// A process killed (SIGKILL) while it writes a Vec: at random moments of
// random steps, and at every crash point of a fixed workload.

package torture_test

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mmapvec/persistence/internal/bootid"
	"github.com/mmapvec/persistence/internal/testproc"
	"github.com/mmapvec/persistence/mmap"
)

func init() {
	roles["vec-random"] = roleVecRandom
}

// roleVecRandom opens the Vec in PERSIST_TEST_DIR and runs random steps on
// it until killed, printing each step before it starts and after it ends.
func roleVecRandom() int {
	path := vecPath(os.Getenv("PERSIST_TEST_DIR"))
	s, _ := strconv.ParseUint(os.Getenv("PERSIST_TRIAL_SEED"), 10, 64)
	nextID, _ := strconv.ParseUint(os.Getenv("PERSIST_NEXT_ID"), 10, 64)
	rng := newRand(s)
	v, err := mmap.Open[row](path, vecOpts)
	if err != nil {
		testproc.Say("error open: %v", err)
		return 1
	}
	testproc.Say("open %d", v.Len())
	for k := 0; ; k++ {
		o := randomOp(rng, v.Len(), nextID)
		if o.kind == 'A' {
			nextID += o.a
		}
		testproc.Say("begin %d %s", k, o)
		if v, err = runOp(v, path, o); err != nil {
			testproc.Say("error %d: %v", k, err)
			return 1
		}
		testproc.Say("ack %d", k)
	}
}

// TestVecKill9Random runs random steps in a child and SIGKILLs it at a random
// moment, then checks the Vec against a model of the acknowledged steps:
// every acknowledged step is there, the step in flight is either absent or
// complete, and after a simulated reboot exactly a committed length is.
// Trials continue on the same file, sometimes across a reboot, and start
// afresh every few trials.
func TestVecKill9Random(t *testing.T) {
	track(t)
	s := seed(t)
	rng := newRand(s)
	trials := counts{short: 10, race: 30, def: 100, long: 1000}.n()
	var (
		dir    string
		m      vecModel
		inFly  = map[byte]int{}
		reboot int
	)
	for trial := range trials {
		if trial%10 == 0 {
			dir, m = t.TempDir(), vecModel{boot: "boot-0"}
		}
		if trial%10 != 0 && rng.IntN(4) == 0 {
			reboot++
			m.do(op{kind: 'B', boot: fmt.Sprintf("boot-%d", reboot)})
		}
		tseed := rng.Uint64()
		c := testproc.Start(t, "", "vec-random", "PERSIST_TEST_DIR="+dir, "PERSIST_BOOT_ID="+m.boot,
			"PERSIST_TRIAL_SEED="+strconv.FormatUint(tseed, 10), "PERSIST_NEXT_ID="+strconv.FormatUint(m.nextID, 10))
		target := rng.IntN(300)
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
				o, _ := parseOp(strings.SplitN(l, " ", 3)[2])
				if strings.HasPrefix(l, fmt.Sprintf("begin %d ", acked+1)) {
					break
				}
				m.do(o)
			}
		}
		if inflight != nil {
			inFly[inflight.kind]++
		}
		what := fmt.Sprintf("trial %d (trial seed %d), killed after %d steps, in flight %v", trial, tseed, acked+1, inflight)
		m = checkVecAfterCrash(t, dir, m, inflight, what, false)
		// The next child starts where this one's file is; ids stay unique.
		if inflight != nil && inflight.kind == 'A' {
			m.nextID = max(m.nextID, inflight.b+inflight.a)
		}
		if t.Failed() {
			return
		}
	}
	bootid.Override("")
	fig.add(&fig.trials, trials)
	t.Logf("%d kill -9 trials, %d simulated reboots between them; step in flight at the kill: %v", trials, reboot, fmtKinds(inFly))
}

func init() {
	roles["vec-workload"] = roleVecWorkload
}

// fixedWorkload touches every write path of a Vec: appends that grow the
// file twice, in-place writes, truncation, syncs and a reboot.
func fixedWorkload() []op {
	m := vecModel{boot: "boot-0"}
	var ops []op
	add := func(o op) {
		ops = append(ops, o)
		m = m.apply(o)
	}
	add(op{kind: 'A', a: 10, b: m.nextID})
	add(op{kind: 'Y'})
	add(op{kind: 'S', a: 3, b: 77})
	add(op{kind: 'R', a: 2})
	add(op{kind: 'Y'})
	add(op{kind: 'A', a: 5_000, b: m.nextID})
	add(op{kind: 'T', a: 4_000})
	add(op{kind: 'A', a: 5, b: m.nextID})
	add(op{kind: 'Y'})
	add(op{kind: 'T', a: 3_000})
	add(op{kind: 'A', a: 3, b: m.nextID})
	add(op{kind: 'B', boot: "boot-1"})
	add(op{kind: 'A', a: 20, b: m.nextID})
	add(op{kind: 'R', a: 0})
	add(op{kind: 'S', a: 7, b: 5})
	add(op{kind: 'Y'})
	add(op{kind: 'A', a: 7_000, b: m.nextID})
	add(op{kind: 'Y'})
	add(op{kind: 'T', a: 1})
	add(op{kind: 'Y'})
	return ops
}

// roleVecWorkload runs a workload on the Vec in PERSIST_TEST_DIR, printing
// "begin k op" before step k and "ack k" after it.
func roleVecWorkload() int {
	path := vecPath(os.Getenv("PERSIST_TEST_DIR"))
	v, err := mmap.Open[row](path, vecOpts)
	if err != nil {
		testproc.Say("error open: %v", err)
		return 1
	}
	for k, o := range fixedWorkload() {
		testproc.Say("begin %d %s", k, o)
		if v, err = runOp(v, path, o); err != nil {
			testproc.Say("error %d: %v", k, err)
			return 1
		}
		testproc.Say("ack %d", k)
	}
	if err := v.Close(); err != nil {
		testproc.Say("error close: %v", err)
		return 1
	}
	testproc.Say("done")
	return 0
}

// TestVecCrashAtEveryPoint kills a child at crash point 1, 2, ... of a fixed
// workload until a run completes. After each kill the file is opened as
// after a reboot (only committed rows) and as after a process crash (every
// completed step), and both views are checked against the model.
func TestVecCrashAtEveryPoint(t *testing.T) {
	track(t)
	ops := fixedWorkload()
	reached := map[string]int{}
	runs := 0
	ahead := &crashRunsAhead{t: t, role: "vec-workload", dirOf: t.TempDir}
	defer ahead.stop()
	for n := 1; ; n++ {
		r, dir := ahead.run(n, n+1)
		c, code, lines, points := r.c, r.code, r.c.Lines(), r.points
		if code == 0 {
			if len(lines) == 0 || lines[len(lines)-1] != "done" {
				t.Fatalf("run %d: child exited 0 without finishing: %q", n, lines)
			}
			if len(points) != n-1 {
				t.Fatalf("the complete run reached %d crash points, the crashing runs %d", len(points), n-1)
			}
			final := replay[row](ops, "boot-0")
			checkVecAfterCrash(t, dir, final, nil, "complete run", true)
			break
		}
		if !c.Killed() {
			t.Fatalf("run %d: child ended with %v, want SIGKILL at crash point %d; stdout %q", n, c.Cmd.ProcessState, n, lines)
		}
		runs++
		if len(points) != n {
			t.Fatalf("run %d: killed after %d crash points", n, len(points))
		}
		point := points[n-1]
		reached[point]++
		fig.hook(point)
		acked, inflight, err := progress(lines)
		if err != nil {
			t.Fatalf("run %d: %v", n, err)
		}
		if inflight == nil {
			t.Fatalf("run %d: killed at %s outside any step", n, point)
		}
		m := replay[row](ops[:acked+1], "boot-0")
		checkVecAfterCrash(t, dir, m, inflight, fmt.Sprintf("run %d, killed at %s in step %d (%s)", n, point, acked+1, inflight), true)
		if t.Failed() {
			return
		}
	}
	fig.add(&fig.crashRuns, runs)
	names := make([]string, 0, len(reached))
	for name, k := range reached {
		names = append(names, fmt.Sprintf("%s×%d", name, k))
	}
	slices.Sort(names)
	t.Logf("%d crash runs, %d steps, every point killed once: %s", runs, len(ops), strings.Join(names, ", "))
	for _, want := range []string{"vec.grow.allocate", "vec.grow.map", "vec.setlen", "vec.flush", "vec.sync.slot", "vec.sync.slot.written", "vec.sync.done"} {
		if reached[want] == 0 {
			t.Errorf("crash point %s was never reached", want)
		}
	}
}

// checkVecAfterCrash checks the Vec left in dir by a process that died with
// step o in flight after reaching state m (o is nil if it finished), and
// returns the state it was found in. With probe, it then appends a row to
// show that the recovered Vec works.
func checkVecAfterCrash(t *testing.T, dir string, m vecModel, o *op, what string, probe bool) vecModel {
	t.Helper()
	path := vecPath(dir)
	states := []vecModel{m}
	skip := -1
	if o != nil {
		states = append(states, m.apply(*o))
		if h, ok := m.halfSwap(*o); ok {
			states = append(states, h)
		}
		if o.kind == 'S' || o.kind == 'R' {
			// A kill may tear the element being stored: a Vec journals
			// neither Set nor SwapRemove's move (the table does).
			skip = int(o.a)
		}
	}
	if err := mustExist(path); err != nil {
		if m.n == 0 && m.committed == 0 {
			return m // killed before the file was created
		}
		t.Fatalf("%s: %v", what, err)
	}
	// After a reboot only committed rows count; a read-only open never
	// writes, so the process-crash view below is unchanged by it.
	bootid.Override("reboot-after-" + strconv.Itoa(os.Getpid()))
	r, err := mmap.Open[row](path, &mmap.Options{Tag: vecOpts.Tag, ReadOnly: true})
	if err != nil {
		bootid.Override("")
		t.Fatalf("%s: reboot view: %v", what, err)
	}
	tornOK := func(i int) bool { return i == skip }
	if o != nil && o.kind == 'A' {
		// An append cut mid-copy after a truncation below the committed
		// length leaves a torn row inside it: the Vec writes rows in place
		// and journals nothing (the table does).
		tornOK = func(i int) bool { return i >= m.n && i < m.n+int(o.a) }
	}
	err = checkCommitted(r, states, tornOK)
	committed := r.Len()
	r.Close()
	bootid.Override(states[len(states)-1].boot)
	defer bootid.Override("")
	if err != nil {
		t.Fatalf("%s: reboot view: %v", what, err)
	}
	v, err := mmap.Open[row](path, vecOpts)
	if err != nil {
		t.Fatalf("%s: reopen: %v", what, err)
	}
	defer v.Close()
	if v.Recovery().Source != mmap.SourceLive && o != nil && o.kind != 'B' {
		t.Errorf("%s: same boot, but the live length was not trusted: %+v", what, v.Recovery())
	}
	k, err := checkVecSkip(v, states, skip)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	found := states[k].clone()
	// A step in flight may be a Sync that committed without changing the
	// rows: the reboot view tells.
	found.committed = committed
	if skip >= 0 && skip < found.n {
		found.mem[skip] = v.Get(skip)
	}
	if o != nil && o.kind == 'A' && found.n == m.n {
		// The cut append left some of its rows in the file past the length,
		// where a later reboot to a longer committed length shows them.
		if err := readTail(path, &found, int(o.a)); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	if !probe {
		return found
	}
	// Recovery leaves a Vec that works: one more append and sync.
	n := v.Len()
	if err := v.Append(mkRow(1<<40, valOf(1<<40))); err != nil {
		t.Fatalf("%s: append after recovery: %v", what, err)
	}
	if err := v.Sync(); err != nil {
		t.Fatalf("%s: sync after recovery: %v", what, err)
	}
	if got := v.Get(n); got != mkRow(1<<40, valOf(1<<40)) {
		t.Fatalf("%s: row appended after recovery reads %+v", what, got)
	}
	return found
}

// checkCommitted checks a Vec opened as after a reboot: its length is the
// committed length of one of the states, and each row is that of one of the
// states (a step in flight may have written some of its rows).
func checkCommitted(v *mmap.Vec[row], states []vecModel, tornOK func(int) bool) error {
	got := v.Slice()
	okLen := false
	var lens []int
	for _, m := range states {
		okLen = okLen || len(got) == m.committed
		lens = append(lens, m.committed)
	}
	if !okLen {
		return fmt.Errorf("length %d, want one of the committed lengths %v", len(got), lens)
	}
	if v.Recovery().Source != mmap.SourceCommitted {
		return fmt.Errorf("after a reboot the %s length was used", v.Recovery().Source)
	}
	for i, r := range got {
		if tornOK(i) {
			continue
		}
		found := false
		for _, m := range states {
			found = found || (i < len(m.mem) && m.mem[i] == r)
		}
		if !found {
			return fmt.Errorf("committed row %d is %+v (torn %v), written by none of the states", i, r, r.torn())
		}
	}
	return nil
}
