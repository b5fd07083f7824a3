// The suite's runner: child roles, the figures printed at the end, run
// modes and seeds.

package torture_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/mmapvec/persistence/internal/testproc"
	"github.com/mmapvec/persistence/internal/testseed"
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

	// Readers beside a writer: rows they checked, their refreshes, and
	// the most rows one was behind its writer at a refresh.
	readerRows, refreshes, maxLag int
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

func (f *figures) readers(rows, refreshes, maxLag int) {
	f.mu.Lock()
	f.readerRows += rows
	f.refreshes += refreshes
	f.maxLag = max(f.maxLag, maxLag)
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
	if f.readerRows > 0 {
		fmt.Printf("torture readers: %d rows checked in %d refreshes, at most %d rows behind the writer\n", f.readerRows, f.refreshes, f.maxLag)
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

// mode names the run's mode, which sizes every test:
//
//	long     PERSIST_TORTURE=long (make torture): thousands of trials
//	short    -short (the qemu runs of CI): fewer trials, each still asserting
//	race     the race detector (the repository's test command): the trial
//	         counts that keep it short, since most of the suite is processes
//	         and files that the detector slows without finding anything in
//	default  otherwise
func mode() string {
	switch {
	case long():
		return "long"
	case testing.Short():
		return "short"
	case raceEnabled:
		return "race"
	}
	return "default"
}

// counts are the sizes of a test (trials, images, cases, rows) in each mode.
type counts struct{ short, race, def, long int }

// n returns the count for the run's mode.
func (c counts) n() int {
	switch mode() {
	case "long":
		return c.long
	case "short":
		return c.short
	case "race":
		return c.race
	}
	return c.def
}

// seed returns the seed of a randomized test (testseed).
func seed(t testing.TB) uint64 { t.Helper(); return testseed.Seed(t) }

func newRand(s uint64) *rand.Rand { return testseed.Rand(s) }
