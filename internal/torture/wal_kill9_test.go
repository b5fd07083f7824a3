// A process killed (SIGKILL) while many goroutines commit rows with
// AppendSync, and a save point (Options.SavePoint) after a kill.

package torture_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mmapvec/persistence/internal/bootid"
	"github.com/mmapvec/persistence/internal/testproc"
	"github.com/mmapvec/persistence/table"
)

func init() {
	roles["wal-group"] = roleWALGroup
	roles["wal-savepoint"] = roleWALSavePoint
}

// groupWriters is how many goroutines of the child commit rows at once.
const groupWriters = 16

// roleWALGroup commits rows from groupWriters goroutines, each one row at
// a time with AppendSync, and prints "ack id" once a row's call returned,
// until it is killed. Writer g's rows in trial n have the ids
// n<<40 | g<<32 | k.
func roleWALGroup() int {
	trial, _ := strconv.ParseUint(os.Getenv("PERSIST_TRIAL"), 10, 64)
	tb, err := openTable(os.Getenv("PERSIST_TEST_DIR"), false)
	if err != nil {
		testproc.Say("error open: %v", err)
		return 1
	}
	testproc.Say("open %d", tb.Len())
	var wg sync.WaitGroup
	for g := range groupWriters {
		wg.Go(func() {
			for k := uint64(0); ; k++ {
				id := trial<<40 | uint64(g)<<32 | k
				if err := tb.AppendSync(mkTRow(id, valOf(id))); err != nil {
					testproc.Say("error append %d: %v", id, err)
					os.Exit(1)
				}
				testproc.Say("ack %d", id)
			}
		})
	}
	wg.Wait()
	return 0
}

// TestTableKill9GroupCommit kills a child whose 16 goroutines commit rows
// with AppendSync at a random moment, and checks that every row whose call
// returned is in the table: in the same boot, and after a restart (a copy
// opened in another boot, which applies the log), since it was durable.
// No row is torn, and no id appears twice. Trials go on with the same
// table, alternately in the writer's boot and after a restart.
func TestTableKill9GroupCommit(t *testing.T) {
	track(t)
	rng := newRand(seed(t))
	trials := counts{short: 3, race: 4, def: 8, long: 60}.n()
	dir := filepath.Join(t.TempDir(), "table")
	acked := map[uint64]bool{}
	boot, most := "group-0", 0
	for trial := range trials {
		c := testproc.Start(t, "", "wal-group", "PERSIST_TEST_DIR="+dir, "PERSIST_BOOT_ID="+boot, "PERSIST_TRIAL="+strconv.Itoa(trial))
		target := 200 + rng.IntN(2000)
		if !c.WaitFor(2*time.Minute, func(lines []string) bool { return countAcks(lines) >= target }) {
			t.Fatalf("trial %d: child stopped early: %q\n%s", trial, tail(c), c.Stderr())
		}
		time.Sleep(time.Duration(rng.IntN(2000)) * time.Microsecond)
		c.Kill()
		n := 0
		for _, l := range c.Lines() {
			if id, ok := strings.CutPrefix(l, "ack "); ok {
				v, err := strconv.ParseUint(id, 10, 64)
				if err != nil {
					t.Fatalf("trial %d: bad line %q", trial, l)
				}
				acked[v] = true
				n++
			} else if strings.HasPrefix(l, "error") {
				t.Fatalf("trial %d: child: %s", trial, l)
			}
		}
		most = max(most, n)
		what := fmt.Sprintf("trial %d, killed after %d acknowledged rows", trial, n)
		checkGroupRows(t, copyDir(t, dir), fmt.Sprintf("restart-%d", trial), acked, what+", after a restart")
		if trial%2 == 1 {
			boot = fmt.Sprintf("group-%d", trial) // the next child runs after a restart
		}
		checkGroupRows(t, dir, boot, acked, what)
		if t.Failed() {
			return
		}
	}
	fig.add(&fig.trials, trials)
	t.Logf("%d kill -9 trials of %d goroutines committing with AppendSync: %d rows acknowledged, at most %d in one trial, each found in the same boot and after a restart",
		trials, groupWriters, len(acked), most)
}

// checkGroupRows opens dir in boot and checks that it holds every row of
// acked, each once, none torn.
func checkGroupRows(t *testing.T, dir, boot string, acked map[uint64]bool, what string) {
	t.Helper()
	bootid.Override(boot)
	defer bootid.Override("")
	tb, err := openTable(dir, false)
	if err != nil {
		t.Fatalf("%s: open: %v", what, err)
	}
	defer tb.Close()
	if err := checkFiles(tb); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	seen := make(map[uint64]bool, tb.Len())
	for i := range tb.Len() {
		r := tb.Row(i)
		if r.torn() || seen[r.ID] {
			t.Fatalf("%s: row %d is %+v (torn %v, seen before %v) (recovery: %s)", what, i, r, r.torn(), seen[r.ID], tb.Recovered())
		}
		seen[r.ID] = true
	}
	for id := range acked {
		if !seen[id] {
			t.Fatalf("%s: row %d (writer %d) was acknowledged by AppendSync but is not in the table of %d rows (recovery: %s)",
				what, id&(1<<32-1), id>>32&0xff, tb.Len(), tb.Recovered())
		}
	}
}

// roleWALSavePoint appends rows and commits some of them with SyncMeta,
// printing "synced n" after each, and appends more after the last, until
// it is killed.
func roleWALSavePoint() int {
	tb, err := openTable(os.Getenv("PERSIST_TEST_DIR"), false)
	if err != nil {
		testproc.Say("error open: %v", err)
		return 1
	}
	rng := newRand(uint64(os.Getpid()))
	for id := uint64(tb.Len()); ; {
		for range 1 + rng.IntN(300) {
			if err := tb.Append(mkTRow(id, valOf(id))); err != nil {
				testproc.Say("error append: %v", err)
				return 1
			}
			id++
		}
		if rng.IntN(3) == 0 {
			if err := tb.SyncMeta(savePointMeta(tb.Len())); err != nil {
				testproc.Say("error sync: %v", err)
				return 1
			}
			testproc.Say("synced %d", tb.Len())
		}
	}
}

func savePointMeta(n int) []byte { return fmt.Appendf(nil, "synced %d rows", n) }

// TestTableSavePointAfterKill9 kills a child that appends rows and commits
// some with SyncMeta, then opens the table with Options.SavePoint in the
// same boot: it must hold exactly the rows of the last Sync that returned
// (or of the one in flight), none appended after it, with that Sync's
// meta.
func TestTableSavePointAfterKill9(t *testing.T) {
	track(t)
	rng := newRand(seed(t))
	trials := counts{short: 3, race: 6, def: 10, long: 60}.n()
	dropped := 0
	for trial := range trials {
		dir := filepath.Join(t.TempDir(), "table")
		c := testproc.Start(t, "", "wal-savepoint", "PERSIST_TEST_DIR="+dir, "PERSIST_BOOT_ID=savepoint")
		syncs := 2 + rng.IntN(20)
		count := func(lines []string) int {
			n := 0
			for _, l := range lines {
				if strings.HasPrefix(l, "synced ") {
					n++
				}
			}
			return n
		}
		if !c.WaitFor(2*time.Minute, func(lines []string) bool { return count(lines) >= syncs }) {
			t.Fatalf("trial %d: child stopped early: %q\n%s", trial, tail(c), c.Stderr())
		}
		time.Sleep(time.Duration(rng.IntN(3000)) * time.Microsecond)
		c.Kill()
		last := 0
		for _, l := range c.Lines() {
			if s, ok := strings.CutPrefix(l, "synced "); ok {
				last, _ = strconv.Atoi(s)
			}
		}
		what := fmt.Sprintf("trial %d, killed after a Sync of %d rows", trial, last)
		bootid.Override("savepoint")
		tb, err := table.Open[trow](dir, &table.Options{SavePoint: true})
		if err != nil {
			bootid.Override("")
			t.Fatalf("%s: open at the save point: %v", what, err)
		}
		n := tb.Len()
		if n < last || string(tb.Meta()) != string(savePointMeta(n)) {
			tb.Close()
			bootid.Override("")
			t.Fatalf("%s: the save point has %d rows and meta %q, want the last Sync's (%d rows, or a later one's) (recovery: %s)", what, n, tb.Meta(), last, tb.Recovered())
		}
		for i := range n {
			if r := tb.Row(i); r != mkTRow(uint64(i), valOf(uint64(i))) {
				tb.Close()
				bootid.Override("")
				t.Fatalf("%s: row %d of the save point is %+v", what, i, r)
			}
		}
		dropped += tb.Recovered().Dropped
		err = tb.Close()
		bootid.Override("")
		if err != nil {
			t.Fatal(err)
		}
	}
	fig.add(&fig.trials, trials)
	t.Logf("%d kill -9 trials opened at the save point, each at the last Sync with its meta; %d rows appended after it dropped", trials, dropped)
}
