package torture_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/mmapvec/persistence/internal/bootid"
	"github.com/mmapvec/persistence/mmap"
)

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
	add(op{kind: 'A', a: 50_000, b: m.nextID})
	add(op{kind: 'T', a: 40_000})
	add(op{kind: 'A', a: 5, b: m.nextID})
	add(op{kind: 'Y'})
	add(op{kind: 'T', a: 30_000})
	add(op{kind: 'A', a: 3, b: m.nextID})
	add(op{kind: 'B', boot: "boot-1"})
	add(op{kind: 'A', a: 20, b: m.nextID})
	add(op{kind: 'R', a: 0})
	add(op{kind: 'S', a: 7, b: 5})
	add(op{kind: 'Y'})
	add(op{kind: 'A', a: 70_000, b: m.nextID})
	add(op{kind: 'Y'})
	add(op{kind: 'T', a: 1})
	add(op{kind: 'Y'})
	return ops
}

func replay(ops []op, boot string) vecModel {
	m := vecModel{boot: boot}
	for _, o := range ops {
		m.do(o)
	}
	return m
}

// roleVecWorkload runs a workload on the Vec in PERSIST_TEST_DIR, printing
// "begin k op" before step k and "ack k" after it.
func roleVecWorkload() int {
	path := vecPath(os.Getenv("PERSIST_TEST_DIR"))
	v, err := mmap.Open[row](path, vecOpts)
	if err != nil {
		say("error open: %v", err)
		return 1
	}
	for k, o := range fixedWorkload() {
		say("begin %d %s", k, o)
		if v, err = runOp(v, path, o); err != nil {
			say("error %d: %v", k, err)
			return 1
		}
		say("ack %d", k)
	}
	if err := v.Close(); err != nil {
		say("error close: %v", err)
		return 1
	}
	say("done")
	return 0
}

// progress reads a workload child's lines: the steps acknowledged and the
// one in flight when it died, if any.
func progress(lines []string) (acked int, inflight *op, err error) {
	acked = -1
	for _, l := range lines {
		f := strings.SplitN(l, " ", 3)
		switch f[0] {
		case "begin":
			o, err := parseOp(f[2])
			if err != nil {
				return 0, nil, err
			}
			inflight = &o
		case "ack":
			k, _ := strconv.Atoi(f[1])
			if k != acked+1 {
				return 0, nil, fmt.Errorf("ack %d after ack %d", k, acked)
			}
			acked, inflight = k, nil
		case "error":
			return 0, nil, fmt.Errorf("child: %s", l)
		}
	}
	return acked, inflight, nil
}

// TestCrashAtEveryPoint kills a child at crash point 1, 2, ... of a fixed
// workload until a run completes. After each kill the file is opened as
// after a reboot (only committed rows) and as after a process crash (every
// completed step), and both views are checked against the model.
func TestCrashAtEveryPoint(t *testing.T) {
	track(t)
	ops := fixedWorkload()
	reached := map[string]int{}
	runs := 0
	for n := 1; ; n++ {
		dir := t.TempDir()
		logPath := filepath.Join(t.TempDir(), "points")
		c := startChild(t, "vec-workload", "PERSIST_TEST_DIR="+dir, "PERSIST_BOOT_ID=boot-0",
			"PERSIST_CRASH_AT="+strconv.Itoa(n), "PERSIST_CRASH_LOG="+logPath)
		lines := c.wait()
		points := readPoints(t, logPath)
		ws := c.cmd.ProcessState.Sys().(syscall.WaitStatus)
		if ws.Exited() && ws.ExitStatus() == 0 {
			if len(lines) == 0 || lines[len(lines)-1] != "done" {
				t.Fatalf("run %d: child exited 0 without finishing: %q", n, lines)
			}
			if len(points) != n-1 {
				t.Fatalf("the complete run reached %d crash points, the crashing runs %d", len(points), n-1)
			}
			final := replay(ops, "boot-0")
			checkAfterCrash(t, dir, final, nil, "complete run", true)
			break
		}
		if !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("run %d: child ended with %v, want SIGKILL at crash point %d; stdout %q", n, c.cmd.ProcessState, n, lines)
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
		m := replay(ops[:acked+1], "boot-0")
		checkAfterCrash(t, dir, m, inflight, fmt.Sprintf("run %d, killed at %s in step %d (%s)", n, point, acked+1, inflight), true)
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

func readPoints(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(b))
}

// checkAfterCrash checks the Vec left in dir by a process that died with
// step o in flight after reaching state m (o is nil if it finished), and
// returns the state it was found in. With probe, it then appends a row to
// show that the recovered Vec works.
func checkAfterCrash(t *testing.T, dir string, m vecModel, o *op, what string, probe bool) vecModel {
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
	if v.Recovery().Trusted != "live" && o != nil && o.kind != 'B' {
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

// readTail loads rows [m.n, m.n+k) of m.mem from the file itself.
func readTail(path string, m *vecModel, k int) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	buf := make([]byte, 24*k)
	n, err := f.ReadAt(buf, int64(4096+24*m.n))
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	for j := 0; (j+1)*24 <= n; j++ {
		b := buf[j*24:]
		r := row{ID: ne.Uint64(b), Val: ne.Uint64(b[8:]), Sum: ne.Uint64(b[16:])}
		if i := m.n + j; i < len(m.mem) {
			m.mem[i] = r
		} else {
			m.mem = append(m.mem, r)
		}
	}
	return nil
}

var ne = binary.NativeEndian

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
	if v.Recovery().Trusted != "committed" {
		return fmt.Errorf("after a reboot the %s length was used", v.Recovery().Trusted)
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

// checkVecSkip is checkVec, with any value allowed at index skip (-1: none).
func checkVecSkip(v *mmap.Vec[row], states []vecModel, skip int) (int, error) {
	if skip < 0 {
		return checkVec(v, states)
	}
	var fixed []vecModel
	for _, m := range states {
		if skip < m.n && skip < v.Len() {
			m = m.clone()
			m.mem[skip] = v.Get(skip)
		}
		fixed = append(fixed, m)
	}
	return checkVec(v, fixed)
}
