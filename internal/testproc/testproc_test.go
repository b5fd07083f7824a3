//go:build unix

package testproc_test

import (
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mmapvec/persistence/internal/testproc"
)

func TestMain(m *testing.M) {
	switch testproc.Role() {
	case "":
		os.Exit(m.Run())
	case "print-then-die":
		// Lines written just before a SIGKILL must reach the parent.
		for i := range 3 {
			testproc.Say("line %d", i)
		}
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		testproc.Hang()
	case "exit":
		testproc.Say("exiting with %s", os.Getenv("CODE"))
		if os.Getenv("CODE") == "3" {
			os.Exit(3)
		}
		os.Exit(0)
	case "hang":
		os.Stderr.WriteString("a word on stderr\n")
		testproc.Say("hanging")
		time.Sleep(time.Hour)
	}
	os.Exit(2)
}

// A child that dies by SIGKILL leaves every line it printed, and is told
// apart from one that exits.
func TestKilledChildKeepsItsLines(t *testing.T) {
	c := testproc.Start(t, "", "print-then-die")
	if code := c.Wait(); code != -1 || !c.Killed() {
		t.Fatalf("exit code %d, killed %v: want a SIGKILL", code, c.Killed())
	}
	if got := strings.Join(c.Lines(), ","); got != "line 0,line 1,line 2" {
		t.Fatalf("lines %q", got)
	}
}

func TestExitCode(t *testing.T) {
	for _, code := range []string{"0", "3"} {
		c := testproc.Start(t, "", "exit", "CODE="+code)
		if got := c.Wait(); got != map[string]int{"0": 0, "3": 3}[code] || c.Killed() {
			t.Fatalf("CODE=%s: exit code %d, killed %v", code, got, c.Killed())
		}
		first := c.Wait()
		if again := c.Wait(); again != first {
			t.Fatalf("a second Wait returned %d, the first %d", again, first)
		}
	}
}

func TestExpectAndKill(t *testing.T) {
	c := testproc.Start(t, "", "hang")
	if l := c.Expect(t, "hang", time.Minute); l != "hanging" {
		t.Fatalf("Expect returned %q", l)
	}
	// stderr is copied by its own goroutine: it may lag behind stdout.
	for deadline := time.Now().Add(time.Minute); !strings.Contains(c.Stderr(), "a word on stderr"); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("stderr %q", c.Stderr())
		}
	}
	if c.WaitFor(50*time.Millisecond, func(l []string) bool { return len(l) > 1 }) {
		t.Fatal("a line that was never printed was seen")
	}
	c.Kill()
	if !c.Killed() {
		t.Fatal("Kill did not end the child by SIGKILL")
	}
}

func TestCrashLog(t *testing.T) {
	log := t.TempDir() + "/points"
	env := testproc.CrashAt(4, log)
	if strings.Join(env, " ") != "PERSIST_CRASH_AT=4 PERSIST_CRASH_LOG="+log {
		t.Fatalf("env %q", env)
	}
	if got := testproc.CrashLog(t, log); got != nil {
		t.Fatalf("no log yet, got %q", got)
	}
	if err := os.WriteFile(log, []byte("a.b\nc.d\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(testproc.CrashLog(t, log), ","); got != "a.b,c.d" {
		t.Fatalf("log %q", got)
	}
}
