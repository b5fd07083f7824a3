package torture_test

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

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
	trials := scale(20, 200, 1000)
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
		}
		tseed := rng.Uint64()
		c := startChild(t, "table-random", "PERSIST_TEST_DIR="+dir, "PERSIST_BOOT_ID="+m.boot,
			"PERSIST_TRIAL_SEED="+strconv.FormatUint(tseed, 10), "PERSIST_NEXT_ID="+strconv.FormatUint(m.nextID, 10))
		target := rng.IntN(200)
		if !c.waitFor(2*time.Minute, func(lines []string) bool { return countAcks(lines) >= target }) {
			t.Fatalf("trial %d: child stopped early: %q\n%s", trial, tail(c), c.stderr.String())
		}
		time.Sleep(time.Duration(rng.IntN(500)) * time.Microsecond)
		c.kill()
		lines := c.wait()
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
