package torture_test

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mmapvec/persistence/internal/testproc"
)

func TestMain(m *testing.M) {
	if role := testproc.Role(); role != "" {
		os.Exit(runRole(role))
	}
	code := m.Run()
	fig.print()
	os.Exit(code)
}

// roles are the parts of this binary that run as child processes.
var roles = map[string]func() int{}

func runRole(role string) int {
	fn, ok := roles[role]
	if !ok {
		fmt.Fprintf(os.Stderr, "unknown role %q\n", role)
		return 2
	}
	return fn()
}

// figures are what the suite proved, printed once at the end of the run so
// that a long run can be quoted.
type figures struct {
	mu        sync.Mutex
	trials    int // random kill -9 trials
	crashRuns int // child runs killed at one crash point
	images    int // power-loss images opened
	cases     int // corruption and bad-input cases
	hooks     map[string]bool
	failures  int
	tests     int
}

var fig = figures{hooks: map[string]bool{}}

func (f *figures) add(field *int, n int) {
	f.mu.Lock()
	*field += n
	f.mu.Unlock()
}

func (f *figures) hook(name string) {
	f.mu.Lock()
	f.hooks[name] = true
	f.mu.Unlock()
}

func (f *figures) print() {
	f.mu.Lock()
	defer f.mu.Unlock()
	names := make([]string, 0, len(f.hooks))
	for n := range f.hooks {
		names = append(names, n)
	}
	slices.Sort(names)
	fmt.Printf("torture figures: arch=%s/%s mode=%s trials=%d crash-runs=%d images=%d cases=%d hooks=%d failures=%d (of %d tests)\n",
		runtime.GOOS, runtime.GOARCH, mode(), f.trials, f.crashRuns, f.images, f.cases, len(names), f.failures, f.tests)
	if len(names) > 0 {
		fmt.Printf("torture hooks reached: %s\n", strings.Join(names, " "))
	}
}

// track counts the test in the figures and its failure, if any.
func track(t *testing.T) {
	t.Helper()
	fig.add(&fig.tests, 1)
	t.Cleanup(func() {
		if t.Failed() {
			fig.add(&fig.failures, 1)
		}
	})
}

func long() bool { return os.Getenv("PERSIST_TORTURE") == "long" }

func mode() string {
	switch {
	case long():
		return "long"
	case testing.Short():
		return "short"
	}
	return "ci"
}

// scale picks a trial count for the run's mode: short runs (under qemu)
// still assert, on fewer trials.
func scale(short, ci, longN int) int {
	switch {
	case long():
		return longN
	case testing.Short():
		return short
	}
	return ci
}

// seed returns the seed of a randomized test, from PERSIST_SEED if set, and
// logs it so that a failure can be replayed.
func seed(t testing.TB) uint64 {
	t.Helper()
	s := uint64(time.Now().UnixNano())
	if env := os.Getenv("PERSIST_SEED"); env != "" {
		var err error
		if s, err = strconv.ParseUint(env, 10, 64); err != nil {
			t.Fatalf("PERSIST_SEED=%q: %v", env, err)
		}
	}
	t.Logf("seed %d (replay with PERSIST_SEED=%d)", s, s)
	return s
}

func newRand(s uint64) *rand.Rand { return rand.New(rand.NewPCG(s, s^0x9e3779b97f4a7c15)) }

// child is a run of this test binary in a role. Its stdout is collected
// line by line, so that the lines written before a SIGKILL can be read.
type child struct {
	cmd    *exec.Cmd
	stderr bytes.Buffer
	mu     sync.Mutex
	lines  []string
	more   chan struct{} // gets a token when lines grow or stdout ends
	eof    bool
}

func startChild(t testing.TB, role string, env ...string) *child {
	t.Helper()
	args := []string{os.Args[0], "-test.run=^$"}
	// Under qemu-user the children are emulated too.
	if emu := os.Getenv("PERSIST_TEST_EXEC"); emu != "" {
		args = append([]string{emu}, args...)
	}
	c := &child{cmd: exec.Command(args[0], args[1:]...), more: make(chan struct{}, 1)}
	c.cmd.Env = append(append(os.Environ(), testproc.RoleEnv+"="+role), env...)
	c.cmd.Stderr = &c.stderr
	// An os.Pipe rather than StdoutPipe: Wait must not close the read end
	// before the lines a killed child left in the pipe are read.
	out, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	c.cmd.Stdout = w
	err = c.cmd.Start()
	w.Close()
	if err != nil {
		out.Close()
		t.Fatal(err)
	}
	go func() {
		defer out.Close()
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			c.mu.Lock()
			c.lines = append(c.lines, sc.Text())
			c.mu.Unlock()
			c.notify()
		}
		c.mu.Lock()
		c.eof = true
		c.mu.Unlock()
		c.notify()
	}()
	t.Cleanup(func() {
		c.kill()
		if t.Failed() && c.stderr.Len() > 0 {
			t.Logf("child %s stderr:\n%s", role, c.stderr.String())
		}
	})
	return c
}

func (c *child) notify() {
	select {
	case c.more <- struct{}{}:
	default:
	}
}

// waitFor waits until pred holds for the lines so far or stdout ends, and
// reports whether pred holds.
func (c *child) waitFor(timeout time.Duration, pred func(lines []string) bool) bool {
	deadline := time.After(timeout)
	for {
		c.mu.Lock()
		ok, eof := pred(c.lines), c.eof
		c.mu.Unlock()
		if ok || eof {
			return ok
		}
		select {
		case <-c.more:
		case <-deadline:
			return false
		}
	}
}

// expect waits for a line starting with prefix and returns it.
func (c *child) expect(t testing.TB, prefix string) string {
	t.Helper()
	var got string
	ok := c.waitFor(2*time.Minute, func(lines []string) bool {
		for _, l := range lines {
			if strings.HasPrefix(l, prefix) {
				got = l
				return true
			}
		}
		return false
	})
	if !ok {
		t.Fatalf("child did not print %q; stderr:\n%s", prefix, c.stderr.String())
	}
	return got
}

func (c *child) kill() {
	_ = c.cmd.Process.Kill()
	c.wait()
}

// wait waits for the child to end and for its stdout to be read, and
// returns every line it printed.
func (c *child) wait() []string {
	_ = c.cmd.Wait()
	c.waitFor(time.Minute, func([]string) bool { return false })
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.lines)
}

// say prints a line for the parent, from a child.
func say(format string, args ...any) { fmt.Printf(format+"\n", args...) }
