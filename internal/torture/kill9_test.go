package torture_test

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mmapvec/persistence/internal/bootid"
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
		say("error open: %v", err)
		return 1
	}
	say("open %d", v.Len())
	for k := 0; ; k++ {
		o := randomOp(rng, v.Len(), nextID)
		if o.kind == 'A' {
			nextID += o.a
		}
		say("begin %d %s", k, o)
		if v, err = runOp(v, path, o); err != nil {
			say("error %d: %v", k, err)
			return 1
		}
		say("ack %d", k)
	}
}

// TestKill9Random runs random steps in a child and SIGKILLs it at a random
// moment, then checks the Vec against a model of the acknowledged steps:
// every acknowledged step is there, the step in flight is either absent or
// complete, and after a simulated reboot exactly a committed length is.
// Trials continue on the same file, sometimes across a reboot, and start
// afresh every few trials.
func TestKill9Random(t *testing.T) {
	track(t)
	s := seed(t)
	rng := newRand(s)
	trials := scale(10, 100, 1000)
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
		c := startChild(t, "vec-random", "PERSIST_TEST_DIR="+dir, "PERSIST_BOOT_ID="+m.boot,
			"PERSIST_TRIAL_SEED="+strconv.FormatUint(tseed, 10), "PERSIST_NEXT_ID="+strconv.FormatUint(m.nextID, 10))
		target := rng.IntN(300)
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
		m = checkAfterCrash(t, dir, m, inflight, what, false)
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

func countAcks(lines []string) int {
	n := 0
	for _, l := range lines {
		if strings.HasPrefix(l, "ack ") {
			n++
		}
	}
	return n
}

func tail(c *child) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lines[max(0, len(c.lines)-5):]
}

func fmtKinds(m map[byte]int) string {
	var b strings.Builder
	for _, k := range "ASRTYB" {
		if m[byte(k)] > 0 {
			fmt.Fprintf(&b, "%c=%d ", k, m[byte(k)])
		}
	}
	return strings.TrimSpace(b.String())
}
