package bench

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Workloads that need other processes (readers beside a writer) run this
// same program again, with the child's role in the environment. A child
// writes "ready" on stdout once it is set up, works until its stdin ends,
// then writes one "done key=value ..." line and exits; a parent that dies
// ends its children's stdin too.

const (
	childRoleEnv = "PERSIST_BENCH_CHILD"
	childDirEnv  = "PERSIST_BENCH_CHILD_DIR"
	// childTimeout bounds every wait for a child's line, so that a stuck
	// child fails the workload instead of hanging the report.
	childTimeout = time.Minute
)

// Child runs this process as a workload's child and exits, when the
// environment names a role; otherwise it returns at once. Every program
// that runs the workloads calls it first: the report command, and the
// test binary's TestMain.
func Child() {
	role := os.Getenv(childRoleEnv)
	if role == "" {
		return
	}
	if err := runChild(role, os.Getenv(childDirEnv)); err != nil {
		fmt.Fprintf(os.Stderr, "bench child %s: %v\n", role, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// runChild dispatches on the role, "name:pause" (pause as time.ParseDuration).
func runChild(role, dir string) error {
	name, p, _ := strings.Cut(role, ":")
	pause, err := time.ParseDuration(p)
	if err != nil {
		return fmt.Errorf("role %q: %w", role, err)
	}
	stop := stopOnEOF(os.Stdin)
	switch name {
	case "sum", "refresh":
		return sumReader(dir, pause, name == "refresh", stop)
	case "lag":
		return lagReader(dir, pause, stop)
	}
	return fmt.Errorf("unknown role %q", role)
}

// stopOnEOF returns a flag that turns true when r ends.
func stopOnEOF(r io.Reader) *atomic.Bool {
	var stop atomic.Bool
	go func() {
		io.Copy(io.Discard, r)
		stop.Store(true)
	}()
	return &stop
}

// childProc is a running child, seen from its parent.
type childProc struct {
	role   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string // stdout, line by line; closed at EOF
	stderr bytes.Buffer
}

// startChild starts a child in role on the table in dir and waits for its
// "ready".
func startChild(role, dir string) (*childProc, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	c := &childProc{role: role, cmd: exec.Command(exe), lines: make(chan string, 16)}
	// The race runtime sleeps a second at exit unless told not to.
	race := strings.TrimSpace(os.Getenv("GORACE") + " atexit_sleep_ms=0")
	c.cmd.Env = append(os.Environ(), childRoleEnv+"="+role, childDirEnv+"="+dir, "GORACE="+race)
	c.cmd.Stderr = &c.stderr
	if c.stdin, err = c.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	out, err := c.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := c.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		s := bufio.NewScanner(out)
		for s.Scan() {
			c.lines <- s.Text()
		}
		close(c.lines)
	}()
	if _, err := c.expect("ready"); err != nil {
		c.kill()
		return nil, err
	}
	return c, nil
}

// expect waits for the child's next line and checks that it starts with word.
func (c *childProc) expect(word string) (string, error) {
	select {
	case line, ok := <-c.lines:
		if ok && (line == word || strings.HasPrefix(line, word+" ")) {
			return line, nil
		}
		if ok {
			return "", fmt.Errorf("child %s said %q, want %s", c.role, line, word)
		}
		err := c.cmd.Wait()
		return "", fmt.Errorf("child %s ended before %q: %v: %s", c.role, word, err, bytes.TrimSpace(c.stderr.Bytes()))
	case <-time.After(childTimeout):
		return "", fmt.Errorf("child %s: no %q within %v", c.role, word, childTimeout)
	}
}

// stop ends the child's stdin and returns the figures of its "done" line.
func (c *childProc) stop() (map[string]int64, error) {
	c.stdin.Close()
	line, err := c.expect("done")
	if err != nil {
		c.kill()
		return nil, err
	}
	for range c.lines { // to EOF, which Wait must not cut short
	}
	if err := c.cmd.Wait(); err != nil {
		return nil, fmt.Errorf("child %s: %v: %s", c.role, err, bytes.TrimSpace(c.stderr.Bytes()))
	}
	return parseDone(line)
}

// kill ends a child that failed; it is safe after the child exited.
func (c *childProc) kill() {
	c.stdin.Close()
	c.cmd.Process.Kill()
	for range c.lines {
	}
	c.cmd.Wait()
}

// stopAll stops every child, returning their figures in order and every error.
func stopAll(cs []*childProc) ([]map[string]int64, error) {
	var figs []map[string]int64
	var errs []error
	for _, c := range cs {
		f, err := c.stop()
		figs = append(figs, f)
		errs = append(errs, err)
	}
	return figs, errors.Join(errs...)
}

// killAll ends children left running by a failed run.
func killAll(cs []*childProc) {
	for _, c := range cs {
		c.kill()
	}
}

// doneLine renders a child's figures as the line parseDone reads.
func doneLine(kv ...any) string {
	var b strings.Builder
	b.WriteString("done")
	for i := 0; i+1 < len(kv); i += 2 {
		fmt.Fprintf(&b, " %v=%v", kv[i], kv[i+1])
	}
	return b.String()
}

// parseDone reads "done k=v ..." with integer values.
func parseDone(line string) (map[string]int64, error) {
	fields := strings.Fields(line)
	if len(fields) == 0 || fields[0] != "done" {
		return nil, fmt.Errorf("not a done line: %q", line)
	}
	m := map[string]int64{}
	for _, f := range fields[1:] {
		k, v, ok := strings.Cut(f, "=")
		n, err := strconv.ParseInt(v, 10, 64)
		if !ok || err != nil {
			return nil, fmt.Errorf("done line %q: bad field %q", line, f)
		}
		m[k] = n
	}
	return m, nil
}
