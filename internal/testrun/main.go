// Command testrun is go test for this repository's own test command: it
// runs "go test -json" with the flags and packages it is given, and prints
// what go test prints (a line per package, the output of a failed test in
// full, and what a package prints outside its tests, such as the torture
// suite's figures), plus a line for each test that took a while and, when
// nothing has been printed for a while, which tests are still running. A
// plain "go test ./..." is silent until a package ends, and the crash suite
// runs for a minute or more.
//
//	go run ./internal/testrun -race ./... ./bench/...
//
// It exits 1 if a package or a test failed, or go test did.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"
)

const (
	// slow is how long a test runs before its end gets a line of its own.
	slow = 5 * time.Second
	// quiet is how long the output may stay still before a line says
	// what is running.
	quiet = 20 * time.Second
)

// event is a line of go test -json (cmd/test2json).
type event struct {
	Time    time.Time
	Action  string
	Package string
	Test    string
	Elapsed float64
	Output  string
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout))
}

func run(args []string, out io.Writer) int {
	cmd := exec.Command("go", append([]string{"test", "-json"}, args...)...)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		fmt.Fprintln(os.Stderr, "testrun:", err)
		return 1
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "testrun:", err)
		return 1
	}
	r := newReport(out, start)
	stop := make(chan struct{})
	go r.heartbeat(stop)
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		r.line(sc.Bytes())
	}
	scanErr := sc.Err()
	if scanErr != nil {
		// A line too long to be an event: pass the rest through as it is,
		// rather than leave go test blocked on a full pipe.
		fmt.Fprintln(os.Stderr, "testrun:", scanErr)
		_, _ = io.Copy(out, stdout)
	}
	close(stop)
	waitErr := cmd.Wait()
	failed := r.finish()
	var exit *exec.ExitError
	switch {
	case waitErr != nil && !errors.As(waitErr, &exit):
		fmt.Fprintln(os.Stderr, "testrun:", waitErr)
		return 1
	case failed || waitErr != nil || scanErr != nil:
		return 1
	}
	return 0
}

// report turns the events into lines. Its methods are called from the
// reading loop and from the heartbeat, hence the lock.
type report struct {
	mu        sync.Mutex
	out       io.Writer
	start     time.Time
	lastPrint time.Time
	running   map[string]time.Time // "package test" (top-level tests) and "package" (packages) to their start
	output    map[string][]string  // "package test" of a top-level test to its output and its subtests'
	failed    []string             // packages that failed
	passed    int                  // packages that passed
}

func newReport(out io.Writer, start time.Time) *report {
	return &report{out: out, start: start, lastPrint: start,
		running: map[string]time.Time{}, output: map[string][]string{}}
}

func (r *report) printf(format string, args ...any) {
	fmt.Fprintf(r.out, format, args...)
	r.lastPrint = time.Now()
}

// line handles one line of go test's output.
func (r *report) line(b []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var e event
	if len(b) == 0 || b[0] != '{' || json.Unmarshal(b, &e) != nil {
		r.printf("%s\n", b) // not an event: go test's own words
		return
	}
	switch {
	case e.Action == "build-output":
		r.printf("%s", e.Output)
	case e.Action == "build-fail":
		// The package's own fail event follows, saying [build failed].
	case e.Test == "":
		r.packageEvent(e)
	default:
		r.testEvent(e)
	}
}

func (r *report) packageEvent(e event) {
	switch e.Action {
	case "start":
		r.running[e.Package] = e.Time
	case "output":
		// What a test binary prints outside any test: its PASS or FAIL
		// (go test's package line follows), the package line itself, and
		// whatever TestMain prints, such as the torture suite's figures.
		if o := strings.TrimSpace(e.Output); o != "PASS" && o != "FAIL" {
			r.printf("%s", e.Output)
		}
	case "pass", "fail", "skip":
		delete(r.running, e.Package)
		switch e.Action {
		case "pass":
			r.passed++
		case "fail":
			r.failed = append(r.failed, e.Package)
			r.flushUnfinished(e.Package)
		}
	}
}

// flushUnfinished prints the output of pkg's tests that never ended: a test
// binary that crashed (a fatal error, a panic in a goroutine, a timeout)
// sends no fail event for the test it was running, only for its package.
func (r *report) flushUnfinished(pkg string) {
	var keys []string
	for k := range r.output {
		if p, _, _ := strings.Cut(k, " "); p == pkg {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		r.printf("%s", strings.Join(r.output[k], ""))
		delete(r.output, k)
		delete(r.running, k)
	}
}

func (r *report) testEvent(e event) {
	top, _, sub := strings.Cut(e.Test, "/")
	key := e.Package + " " + top
	switch e.Action {
	case "run":
		if !sub {
			r.running[key] = e.Time
		}
	case "output":
		r.output[key] = append(r.output[key], e.Output)
	case "pass", "fail", "skip":
		if sub {
			return
		}
		delete(r.running, key)
		took := time.Duration(e.Elapsed * float64(time.Second))
		if e.Action == "fail" {
			r.printf("%s", strings.Join(r.output[key], ""))
		} else if took >= slow {
			r.printf("    %-4s %6.1fs  %s %s\n", e.Action, took.Seconds(), e.Package, e.Test)
		}
		delete(r.output, key)
	}
}

// heartbeat says what is running whenever the output has been still for
// quiet, until stop is closed.
func (r *report) heartbeat(stop <-chan struct{}) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-tick.C:
			r.mu.Lock()
			if now.Sub(r.lastPrint) >= quiet {
				r.printf("    ... %s\n", r.runningNow(now))
			}
			r.mu.Unlock()
		}
	}
}

// runningNow describes what runs: the top-level tests, and the packages
// whose binary runs no test at the moment (starting, or in TestMain).
func (r *report) runningNow(now time.Time) string {
	busy := map[string]bool{}
	var tests []string
	for k, since := range r.running {
		if pkg, test, ok := strings.Cut(k, " "); ok {
			busy[pkg] = true
			tests = append(tests, fmt.Sprintf("%s %s (%.0fs)", pkg, test, now.Sub(since).Seconds()))
		}
	}
	for k, since := range r.running {
		if !strings.Contains(k, " ") && !busy[k] {
			tests = append(tests, fmt.Sprintf("%s (%.0fs)", k, now.Sub(since).Seconds()))
		}
	}
	if len(tests) == 0 {
		return fmt.Sprintf("building (%.0fs since the start)", now.Sub(r.start).Seconds())
	}
	slices.Sort(tests)
	return "running " + strings.Join(tests, ", ")
}

// finish prints the summary and reports whether anything failed.
func (r *report) finish() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	took := time.Since(r.start).Round(time.Second)
	if len(r.failed) > 0 {
		r.printf("FAIL after %v: %s\n", took, strings.Join(r.failed, ", "))
		return true
	}
	r.printf("all %d packages with tests passed in %v\n", r.passed, took)
	return false
}
