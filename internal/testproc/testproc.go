// Package testproc runs parts of a test binary as child processes, the way
// crash and lock tests need: the child is the same binary re-run with
// -test.run and an environment variable that names its role.
package testproc

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// RoleEnv names the role a child process plays.
const RoleEnv = "PERSIST_TEST_ROLE"

// Role returns the role of this process, "" for the parent.
func Role() string { return os.Getenv(RoleEnv) }

// Child is a running child process whose stdout is read line by line.
type Child struct {
	Cmd   *exec.Cmd
	lines *bufio.Scanner
	out   io.ReadCloser
}

// Start re-runs the test binary with -test.run=^testName$ and the role and
// extra environment set. The child's stderr goes to the test log on failure.
func Start(t testing.TB, testName, role string, env ...string) *Child {
	t.Helper()
	args := []string{os.Args[0], "-test.run=^" + testName + "$", "-test.count=1", "-test.v=false"}
	// Under qemu-user (go test -exec qemu-s390x-static) the child must be
	// emulated too; PERSIST_TEST_EXEC names the emulator.
	if emu := os.Getenv("PERSIST_TEST_EXEC"); emu != "" {
		args = append([]string{emu}, args...)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(append(os.Environ(), RoleEnv+"="+role), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() && stderr.Len() > 0 {
			t.Logf("child %s stderr:\n%s", role, stderr.String())
		}
	})
	return &Child{Cmd: cmd, lines: bufio.NewScanner(out), out: out}
}

// Expect reads lines until one starts with prefix, and returns it; it fails
// the test if the child ends first or timeout passes.
func (c *Child) Expect(t testing.TB, prefix string, timeout time.Duration) string {
	t.Helper()
	got := make(chan string, 1)
	go func() {
		for c.lines.Scan() {
			if l := c.lines.Text(); strings.HasPrefix(l, prefix) {
				got <- l
				return
			}
		}
		close(got)
	}()
	select {
	case l, ok := <-got:
		if !ok {
			t.Fatalf("child ended before printing %q", prefix)
		}
		return l
	case <-time.After(timeout):
		t.Fatalf("child did not print %q within %v", prefix, timeout)
	}
	return ""
}

// Kill sends SIGKILL and waits for the child to end.
func (c *Child) Kill() {
	_ = c.Cmd.Process.Kill()
	_ = c.Cmd.Wait()
}

// Wait waits for the child to end and returns its exit code.
func (c *Child) Wait() int {
	_ = c.Cmd.Wait()
	return c.Cmd.ProcessState.ExitCode()
}

// Say prints a line for the parent to read (from a child).
func Say(format string, args ...any) {
	fmt.Fprintf(os.Stdout, format+"\n", args...)
}
