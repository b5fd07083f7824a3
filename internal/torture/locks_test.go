// Locks across processes: a child holds a Vec or a table, the test opens
// it again.

package torture_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mmapvec/persistence/internal/testproc"
	"github.com/mmapvec/persistence/lockfile"
	"github.com/mmapvec/persistence/mmap"
	"github.com/mmapvec/persistence/table"
)

func init() {
	roles["hold"] = roleHold
}

// held keeps what roleHold opened reachable: a collected *os.File closes
// its descriptor, and the lock with it.
var held any

// roleHold opens a Vec or a table (PERSIST_KIND), read-only if PERSIST_RO
// is set, says "holding", and keeps it open until killed.
func roleHold() int {
	dir, ro := os.Getenv("PERSIST_TEST_DIR"), os.Getenv("PERSIST_RO") != ""
	var err error
	if os.Getenv("PERSIST_KIND") == "vec" {
		held, err = mmap.Open[row](vecPath(dir), &mmap.Options{Tag: vecOpts.Tag, ReadOnly: ro})
	} else {
		held, err = openTable(dir, ro)
	}
	if err != nil {
		testproc.Say("error %v", err)
		return 1
	}
	testproc.Say("holding")
	for {
		time.Sleep(time.Hour) // a bare select{} would end the process as a deadlock
	}
}

type lockTarget struct {
	kind string
	dir  string
}

func (l lockTarget) open(ro bool, timeout time.Duration) (func() error, error) {
	if l.kind == "vec" {
		v, err := mmap.Open[row](vecPath(l.dir), &mmap.Options{Tag: vecOpts.Tag, ReadOnly: ro, LockTimeout: timeout})
		if err != nil {
			return nil, err
		}
		return v.Close, nil
	}
	tb, err := table.Open[trow](l.dir, &table.Options{ReadOnly: ro, LockTimeout: timeout})
	if err != nil {
		return nil, err
	}
	return tb.Close, nil
}

func (l lockTarget) hold(t *testing.T, ro bool) *testproc.Child {
	t.Helper()
	env := []string{"PERSIST_TEST_DIR=" + l.dir, "PERSIST_KIND=" + l.kind}
	if ro {
		env = append(env, "PERSIST_RO=1")
	}
	c := testproc.Start(t, "", "hold", env...)
	c.Expect(t, "holding", 2*time.Minute)
	return c
}

// refused checks a lock error: ErrLocked, a *lockfile.LockedError, and the
// holder's pid in the message.
func refused(t *testing.T, err error, holder *testproc.Child, what string) {
	t.Helper()
	var le *lockfile.LockedError
	if !errors.Is(err, lockfile.ErrLocked) || !errors.As(err, &le) {
		t.Fatalf("%s: want ErrLocked, got %v", what, err)
	}
	// Under qemu-user the holder's pid is the emulator's, which is the
	// child's own pid as well.
	if pid := strconv.Itoa(holder.Cmd.Process.Pid); !strings.Contains(err.Error(), "pid "+pid) {
		t.Fatalf("%s: the error does not name the holder, pid %s: %v", what, pid, err)
	}
}

// TestLocksAcrossProcesses holds a Vec and a table in a child process and
// checks each pairing: writer against writer refused with the holder's pid,
// a Vec's writer against its reader refused and a table's allowed (its
// readers open beside the writer), readers together allowed, a SIGKILLed holder's
// lock free at once, a lock timeout that expires and one that is met.
func TestLocksAcrossProcesses(t *testing.T) {
	track(t)
	cases := 0
	for _, kind := range []string{"vec", "table"} {
		t.Run(kind, func(t *testing.T) {
			l := lockTarget{kind: kind, dir: filepath.Join(t.TempDir(), "t")}
			if kind == "vec" {
				l.dir = t.TempDir()
			}
			closeFn, err := l.open(false, 0) // create it
			if err != nil {
				t.Fatal(err)
			}
			if err := closeFn(); err != nil {
				t.Fatal(err)
			}
			t.Run("writer vs writer", func(t *testing.T) {
				c := l.hold(t, false)
				_, err := l.open(false, 0)
				refused(t, err, c, "second writer")
			})
			t.Run("reader vs writer", func(t *testing.T) {
				c := l.hold(t, false)
				closeFn, err := l.open(true, 0)
				if kind == "vec" {
					refused(t, err, c, "reader while a writer holds")
					return
				}
				// A table's readers open beside its writer.
				if err != nil {
					t.Fatalf("table reader while a writer holds: %v", err)
				}
				if err := closeFn(); err != nil {
					t.Fatal(err)
				}
			})
			t.Run("writer vs reader", func(t *testing.T) {
				l.hold(t, true)
				closeFn, err := l.open(false, 0)
				if kind == "vec" {
					if !errors.Is(err, lockfile.ErrLocked) {
						t.Fatalf("writer while a reader holds: want ErrLocked, got %v", err)
					}
					return
				}
				// No reader keeps a table's writer out.
				if err != nil {
					t.Fatalf("table writer while a reader holds: %v", err)
				}
				if err := closeFn(); err != nil {
					t.Fatal(err)
				}
			})
			t.Run("readers together", func(t *testing.T) {
				l.hold(t, true)
				closeFn, err := l.open(true, 0)
				if err != nil {
					t.Fatalf("a second reader: %v", err)
				}
				if err := closeFn(); err != nil {
					t.Fatal(err)
				}
			})
			t.Run("holder killed", func(t *testing.T) {
				c := l.hold(t, false)
				c.Kill()
				closeFn, err := l.open(false, 0)
				if err != nil {
					t.Fatalf("after the holder was killed: %v", err)
				}
				if err := closeFn(); err != nil {
					t.Fatal(err)
				}
			})
			t.Run("timeout expires", func(t *testing.T) {
				c := l.hold(t, false)
				_, err := l.open(false, 100*time.Millisecond)
				refused(t, err, c, "writer with a timeout")
				if !strings.Contains(err.Error(), "after waiting") {
					t.Fatalf("the error does not say it waited: %v", err)
				}
			})
			t.Run("timeout met", func(t *testing.T) {
				c := l.hold(t, false)
				done := make(chan error, 1)
				go func() {
					closeFn, err := l.open(false, 2*time.Minute)
					if err == nil {
						err = closeFn()
					}
					done <- err
				}()
				c.Kill() // before or during the wait: either way the open gets the lock
				if err := <-done; err != nil {
					t.Fatalf("waiting for a lock whose holder dies: %v", err)
				}
			})
			cases += 7
		})
	}
	t.Run("python flock probe", func(t *testing.T) {
		py, err := exec.LookPath("python3")
		if err != nil {
			t.Skip("python3 is not installed: the external flock probe needs it")
		}
		dir := filepath.Join(t.TempDir(), "t")
		tb, err := openTable(dir, false)
		if err != nil {
			t.Fatal(err)
		}
		probe := func() string {
			out, err := exec.Command(py, "-c", `import fcntl,sys
f=open(sys.argv[1],"rb")
try:
    fcntl.flock(f, fcntl.LOCK_EX|fcntl.LOCK_NB)
    print("acquired")
except BlockingIOError:
    print("refused")`, filepath.Join(dir, "LOCK")).CombinedOutput()
			if err != nil {
				t.Fatalf("python3: %v: %s", err, out)
			}
			return strings.TrimSpace(string(out))
		}
		if got := probe(); got != "refused" {
			t.Fatalf("an external flock on LOCK while the table is open: %s", got)
		}
		if err := tb.Close(); err != nil {
			t.Fatal(err)
		}
		if got := probe(); got != "acquired" {
			t.Fatalf("an external flock on LOCK after Close: %s", got)
		}
		cases += 2
	})
	fig.add(&fig.cases, cases)
	t.Logf("%d lock cases across processes", cases)
}
