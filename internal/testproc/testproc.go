// Package testproc runs parts of a test binary as child processes, the way
// crash and lock tests need: the child is the same binary re-run with
// -test.run and an environment variable that names its role.
//
// A child's stdout is its report to the parent, a line per event: the
// parent reads it as it comes ([Child.Expect], [Child.WaitFor]), and after
// the child has died, even by SIGKILL, every line it wrote before dying
// ([Child.Lines]). Crash tests drive the child with the crash-point
// variables of internal/crashpoint ([CrashAt]) and tell a kill at a crash
// point from a normal end with [Child.Killed].
package testproc

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// RoleEnv names the role a child process plays.
const RoleEnv = "PERSIST_TEST_ROLE"

// Role returns the role of this process, "" for the parent.
func Role() string { return os.Getenv(RoleEnv) }

// Child is a running child process whose stdout is collected line by line.
type Child struct {
	// Cmd is the child's command; Cmd.Process.Pid is the pid a lock
	// error names (under qemu-user, the emulator's, which is the same).
	Cmd  *exec.Cmd
	role string

	stderr lockedBuffer

	mu    sync.Mutex
	lines []string
	eof   bool
	more  chan struct{} // gets a token when lines grow or stdout ends

	waitOnce sync.Once
}

// Start re-runs the test binary with -test.run=^testName$ and the role and
// extra environment set; testName "" runs no test, for a TestMain that
// dispatches on [Role] itself. The child is killed when the test ends, and
// its stderr goes to the test log if the test failed.
func Start(t testing.TB, testName, role string, env ...string) *Child {
	t.Helper()
	args := []string{os.Args[0], "-test.run=^" + testName + "$", "-test.count=1", "-test.v=false"}
	// Under qemu-user (go test -exec qemu-s390x-static) the child must be
	// emulated too; PERSIST_TEST_EXEC names the emulator.
	if emu := os.Getenv("PERSIST_TEST_EXEC"); emu != "" {
		args = append([]string{emu}, args...)
	}
	c := &Child{Cmd: exec.Command(args[0], args[1:]...), role: role, more: make(chan struct{}, 1)}
	c.Cmd.Env = append(append(os.Environ(), RoleEnv+"="+role, raceOptions()), env...)
	c.Cmd.Stderr = &c.stderr
	// An os.Pipe rather than StdoutPipe: Cmd.Wait closes a StdoutPipe, and
	// with it the lines a killed child left in the pipe, unread.
	out, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	c.Cmd.Stdout = w
	err = c.Cmd.Start()
	w.Close() // the child holds its own copy; EOF comes when it exits
	if err != nil {
		out.Close()
		t.Fatal(err)
	}
	go c.read(out)
	t.Cleanup(func() {
		c.Kill()
		if t.Failed() {
			if s := c.Stderr(); s != "" {
				t.Logf("child %s stderr:\n%s", role, s)
			}
		}
	})
	return c
}

// raceOptions returns the GORACE setting of a child: the parent's, with
// no sleep at exit. A binary built with -race sleeps a second before it
// exits (atexit_sleep_ms, to catch races with goroutines still running);
// a crash test starts hundreds of children that exit, and the sleep would
// be most of its time. Races inside a child are still reported.
func raceOptions() string {
	opts := os.Getenv("GORACE")
	if !strings.Contains(opts, "atexit_sleep_ms") {
		opts = strings.TrimSpace(opts + " atexit_sleep_ms=0")
	}
	return "GORACE=" + opts
}

// read collects the child's stdout until it ends.
func (c *Child) read(out *os.File) {
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
}

func (c *Child) notify() {
	select {
	case c.more <- struct{}{}:
	default:
	}
}

// WaitFor waits until pred holds for the lines read so far, the child's
// stdout ends, or timeout passes, and reports whether pred holds. pred is
// called with the lines under a lock: it must not keep the slice.
func (c *Child) WaitFor(timeout time.Duration, pred func(lines []string) bool) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		ok, eof := pred(c.lines), c.eof
		c.mu.Unlock()
		if ok || eof {
			return ok
		}
		select {
		case <-c.more:
		case <-deadline.C:
			return false
		}
	}
}

// Expect waits for a line that starts with prefix, and returns it; it
// fails the test if the child ends first or timeout passes.
func (c *Child) Expect(t testing.TB, prefix string, timeout time.Duration) string {
	t.Helper()
	got, ok := c.WaitLine(prefix, timeout)
	if !ok {
		c.mu.Lock()
		ended := c.eof
		c.mu.Unlock()
		if ended {
			t.Fatalf("child %s ended before printing %q; stderr:\n%s", c.role, prefix, c.Stderr())
		}
		t.Fatalf("child %s did not print %q within %v", c.role, prefix, timeout)
	}
	return got
}

// WaitLine waits for a line that starts with prefix and returns it; ok is
// false if the child ends first or timeout passes. [Child.Expect] is it
// for a test that fails then.
func (c *Child) WaitLine(prefix string, timeout time.Duration) (line string, ok bool) {
	ok = c.WaitFor(timeout, func(lines []string) bool {
		for _, l := range lines {
			if strings.HasPrefix(l, prefix) {
				line = l
				return true
			}
		}
		return false
	})
	return line, ok
}

// Lines returns the lines the child printed so far; after [Child.Wait] or
// [Child.Kill], every line it printed.
func (c *Child) Lines() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.lines)
}

// Stderr returns what the child wrote to stderr so far.
func (c *Child) Stderr() string { return c.stderr.String() }

// Kill sends SIGKILL and waits for the child to end.
func (c *Child) Kill() {
	_ = c.Cmd.Process.Kill()
	c.Wait()
}

// Wait waits for the child to end and for its stdout to be read, and
// returns its exit code: -1 if a signal ended it (see [Child.Killed]).
// It may be called more than once.
func (c *Child) Wait() int {
	c.waitOnce.Do(func() {
		_ = c.Cmd.Wait()
		// The pipe reaches EOF once the child is gone, unless a process it
		// started still holds it: do not wait for that forever.
		c.WaitFor(time.Minute, func([]string) bool { return false })
	})
	return c.Cmd.ProcessState.ExitCode()
}

// Killed waits for the child to end and reports whether SIGKILL ended it:
// a crash point of [CrashAt], or [Child.Kill].
func (c *Child) Killed() bool {
	c.Wait()
	ws, ok := c.Cmd.ProcessState.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}

// Say prints a line for the parent to read (from a child).
func Say(format string, args ...any) {
	fmt.Fprintf(os.Stdout, format+"\n", args...)
}

// CrashAt returns the environment that makes a child SIGKILL itself at the
// n-th crash point it reaches (internal/crashpoint, 1-based) and append the
// name of each point it reaches to the file log, for [CrashLog].
func CrashAt(n int, log string) []string {
	return []string{"PERSIST_CRASH_AT=" + strconv.Itoa(n), "PERSIST_CRASH_LOG=" + log}
}

// CrashLog returns the crash points a child run with [CrashAt] reached, in
// order; none if it reached none.
func CrashLog(t testing.TB, log string) []string {
	t.Helper()
	b, err := os.ReadFile(log)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(b))
}

// lockedBuffer is a strings.Builder that the goroutine copying the child's
// stderr and the test may use at once.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Hang blocks the calling goroutine for good, for a child that waits to be
// killed. Unlike select {}, it never trips the runtime's deadlock detector
// (which, when every goroutine blocks, ends the process with exit status 2
// instead of leaving it to the parent's SIGKILL).
func Hang() {
	for {
		time.Sleep(time.Hour)
	}
}
