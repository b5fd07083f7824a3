// Readers beside a writer, across processes: a writer child appends the
// rows of a generator (row i is genRow(i)) while reader children refresh
// and check every row they are shown; the writer is killed under them,
// readers are killed beside it, a writer and a reader share one process,
// and snapshots of the live table are taken and killed part way. One file,
// since every test runs the same writer and reader roles.

package torture_test

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mmapvec/persistence/column"
	"github.com/mmapvec/persistence/internal/testproc"
	"github.com/mmapvec/persistence/lockfile"
	"github.com/mmapvec/persistence/table"
)

func init() {
	roles["readers-writer"] = roleReadersWriter
	roles["readers-reader"] = roleReadersReader
	roles["readers-snapshot"] = roleReadersSnapshot
}

// genRow is row i of the append-only workloads: a row's place tells what it
// must hold, so a reader checks any row without a model.
func genRow(i int) trow { return mkTRow(uint64(i), valOf(uint64(i))) }

func envInt(name string) int {
	n, _ := strconv.Atoi(os.Getenv(name))
	return n
}

// readCount reads a count that another process wrote to path with
// writeCount; -1 while there is none.
func readCount(path string) int {
	if path == "" {
		return -1
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return -1
	}
	n, err := strconv.Atoi(string(b))
	if err != nil {
		return -1
	}
	return n
}

// writeCount replaces path with n, by a rename: a reader of the file never
// sees a part of it.
func writeCount(path string, n int) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(n)), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// roleReadersWriter appends rows of the generator from the table's length:
// runs of single Appends, small AppendRows, and batches that cross growth
// steps, with a Sync now and then (at least every 20 ms). It prints "open
// <rows> <committed>", "synced <rows>" after each Sync returned, and, with
// PERSIST_SNAPSHOT_DIR, takes a snapshot every 10 steps and one at the end
// ("snapshot-begin <k>", then "snapshot <k> <rows>"). It runs for
// PERSIST_RUN_FOR_MS, then Syncs, closes, writes its final count to
// PERSIST_DONE_FILE and prints "done <rows>"; without it, until killed.
// PERSIST_ROW_RATE caps its rows per second, and after PERSIST_ROUND_ROWS
// rows it only Syncs. With PERSIST_HOLD_FILE it keeps the table open past
// its run until that file exists.
func roleReadersWriter() int {
	dir := os.Getenv("PERSIST_TEST_DIR")
	s, _ := strconv.ParseUint(os.Getenv("PERSIST_TRIAL_SEED"), 10, 64)
	runFor := time.Duration(envInt("PERSIST_RUN_FOR_MS")) * time.Millisecond
	rate, roundRows := envInt("PERSIST_ROW_RATE"), envInt("PERSIST_ROUND_ROWS")
	snapDir := os.Getenv("PERSIST_SNAPSHOT_DIR")
	rng := newRand(s)
	tb, err := openTable(dir, false)
	if err != nil {
		testproc.Say("error open: %v", err)
		return 1
	}
	start, first := time.Now(), tb.Len()
	testproc.Say("open %d %d", first, tb.Recovered().CommittedRows)
	batch := make([]trow, 0, 32_000)
	snaps, lastSync := 0, start
	for ops := 0; ; {
		el := time.Since(start)
		if runFor > 0 && el >= runFor {
			break
		}
		if runFor == 0 && el > 2*time.Minute {
			testproc.Say("error: not killed within 2 minutes")
			return 3
		}
		n := tb.Len()
		syncDue := time.Since(lastSync) > 20*time.Millisecond
		if rate > 0 && float64(n-first) > float64(rate)*el.Seconds() && !syncDue {
			time.Sleep(200 * time.Microsecond)
			continue
		}
		ops++
		full := roundRows > 0 && n-first >= roundRows
		switch k := rng.IntN(100); {
		case snapDir != "" && ops%10 == 0:
			if !snapshot(tb, snapDir, snaps) {
				return 1
			}
			snaps++
		case full || k >= 95 || syncDue:
			if full {
				time.Sleep(time.Millisecond)
			}
			if err := tb.Sync(); err != nil {
				testproc.Say("error sync: %v", err)
				return 1
			}
			testproc.Say("synced %d", n)
			lastSync = time.Now()
		case k < 50:
			for range 1 + rng.IntN(32) {
				if err := tb.Append(genRow(tb.Len())); err != nil {
					testproc.Say("error append: %v", err)
					return 1
				}
			}
		default:
			c := 2 + rng.IntN(255)
			if k >= 92 {
				c = 1000 + rng.IntN(cap(batch)-1000) // crosses growth steps, and AppendRows stages it
			}
			batch = batch[:0]
			for i := range c {
				batch = append(batch, genRow(n+i))
			}
			if err := tb.AppendRows(batch); err != nil {
				testproc.Say("error append rows: %v", err)
				return 1
			}
		}
	}
	// The table stays open until the parent saw its readers open beside
	// it (a slow start, under qemu, can outlast a short run).
	if hold := os.Getenv("PERSIST_HOLD_FILE"); hold != "" {
		for wait := time.Now(); time.Since(wait) < 2*time.Minute; time.Sleep(time.Millisecond) {
			if _, err := os.Stat(hold); err == nil {
				break
			}
		}
	}
	if err := tb.Sync(); err != nil {
		testproc.Say("error sync: %v", err)
		return 1
	}
	n := tb.Len()
	testproc.Say("synced %d", n)
	if snapDir != "" && !snapshot(tb, snapDir, snaps) {
		return 1
	}
	if err := tb.Close(); err != nil {
		testproc.Say("error close: %v", err)
		return 1
	}
	if done := os.Getenv("PERSIST_DONE_FILE"); done != "" {
		if err := writeCount(done, n); err != nil {
			testproc.Say("error: %v", err)
			return 1
		}
	}
	testproc.Say("done %d", n)
	return 0
}

// snapshot takes snapshot k of tb into snapDir, saying so before and after.
func snapshot(tb *table.Table[trow], snapDir string, k int) bool {
	testproc.Say("snapshot-begin %d", k)
	if err := tb.Snapshot(filepath.Join(snapDir, "snap-"+strconv.Itoa(k))); err != nil {
		testproc.Say("error snapshot %d: %v", k, err)
		return false
	}
	testproc.Say("snapshot %d %d", k, tb.Len())
	return true
}

// checker is a reader that checks every row it is shown.
type checker struct {
	tb              *table.Table[trow]
	id, v, sum      *column.Of[uint64]
	a               *column.Of[int32]
	b               *column.Of[[3]uint16]
	rng             *rand.Rand
	buf             []trow
	seen            int // the count after the last Refresh
	rows, refreshes int
	maxLag          int
}

func openChecker(dir string, syncedOnly bool, seed uint64) (*checker, error) {
	tb, err := table.Open[trow](dir, &table.Options{ReadOnly: true, SyncedOnly: syncedOnly})
	if err != nil {
		return nil, err
	}
	c := &checker{tb: tb, rng: newRand(seed), buf: make([]trow, 4096), seen: tb.Len()}
	var errs [5]error
	c.id, errs[0] = table.Column[uint64](tb, "ID")
	c.v, errs[1] = table.Column[uint64](tb, "V")
	c.a, errs[2] = table.Column[int32](tb, "A")
	c.b, errs[3] = table.Column[[3]uint16](tb, "B")
	c.sum, errs[4] = table.Column[uint64](tb, "Sum")
	if err := errors.Join(errs[:]...); err != nil {
		return nil, errors.Join(err, tb.Close())
	}
	if err := c.check(0, c.seen); err != nil {
		return nil, errors.Join(err, tb.Close())
	}
	return c, nil
}

// check compares rows [from, to) with the generator, read by ReadRows and
// through the column views' slices, which must show the table's count.
func (c *checker) check(from, to int) error {
	n := c.tb.Len()
	if got := c.id.Len(); got != n {
		return fmt.Errorf("the ID column view shows %d rows, the table %d", got, n)
	}
	ids, vs, as, bs, sums := c.id.Slice(), c.v.Slice(), c.a.Slice(), c.b.Slice(), c.sum.Slice()
	if min(len(ids), len(vs), len(as), len(bs), len(sums)) != n || max(len(ids), len(vs), len(as), len(bs), len(sums)) != n {
		return fmt.Errorf("column slices of %d, %d, %d, %d, %d rows; the table has %d", len(ids), len(vs), len(as), len(bs), len(sums), n)
	}
	for i := from; i < to; {
		k, err := c.tb.ReadRows(c.buf, i)
		if err != nil {
			return fmt.Errorf("ReadRows from %d of %d rows: %w", i, n, err)
		}
		k = min(k, to-i)
		if k <= 0 {
			return fmt.Errorf("ReadRows from %d of %d rows read none", i, n)
		}
		for j, r := range c.buf[:k] {
			want := genRow(i + j)
			if r != want {
				return fmt.Errorf("row %d of %d (ReadRows) is %+v (torn %v), want %+v", i+j, n, r, r.torn(), want)
			}
			if s := (trow{ID: ids[i+j], V: vs[i+j], A: as[i+j], B: bs[i+j], Sum: sums[i+j]}); s != want {
				return fmt.Errorf("row %d of %d (column slices) is %+v (torn %v), want %+v", i+j, n, s, s.torn(), want)
			}
		}
		i += k
	}
	c.rows += to - from
	return nil
}

// refresh moves to the writer's latest count, which must not be lower than
// the last (the workloads only append), checks the new rows and a few older
// ones, and reports whether the count moved.
func (c *checker) refresh() (bool, error) {
	if err := c.tb.Refresh(); err != nil {
		return false, fmt.Errorf("Refresh at %d rows: %w", c.seen, err)
	}
	c.refreshes++
	n := c.tb.Len()
	if n < c.seen {
		return false, fmt.Errorf("the count went back from %d to %d", c.seen, n)
	}
	moved := n > c.seen
	if moved {
		c.maxLag = max(c.maxLag, n-c.seen)
		if err := c.check(c.seen, n); err != nil {
			return false, err
		}
		c.seen = n
	}
	for range min(n, 3) {
		i := c.rng.IntN(n)
		if r, want := c.tb.Row(i), genRow(i); r != want {
			return false, fmt.Errorf("older row %d of %d (Row) is %+v (torn %v), want %+v", i, n, r, r.torn(), want)
		}
	}
	return moved, nil
}

// follow refreshes and checks until the count reaches the writer's final
// one, which appears in the file done; it fails if that takes more than a
// minute from then. PERSIST_ROUND_FILE is the parent's round: on each new
// one the reader refreshes, checks every row and prints "round <k> <rows>".
// With counts set it prints "n <rows>" each time the count moves.
func (c *checker) follow(done, round string, counts bool) error {
	final, deadline, lastRound := -1, time.Time{}, 0
	giveUp := time.Now().Add(10 * time.Minute)
	for {
		moved, err := c.refresh()
		if err != nil {
			return err
		}
		if moved && counts {
			testproc.Say("n %d", c.seen)
		}
		if k := readCount(round); k > lastRound {
			if _, err := c.refresh(); err != nil {
				return err
			}
			if err := c.check(0, c.seen); err != nil {
				return fmt.Errorf("round %d: %w", k, err)
			}
			testproc.Say("round %d %d", k, c.seen)
			lastRound = k
		}
		if final < 0 {
			if final = readCount(done); final >= 0 {
				deadline = time.Now().Add(time.Minute)
			}
		}
		switch now := time.Now(); {
		case final >= 0 && c.seen == final:
			return nil
		case final >= 0 && c.seen > final:
			return fmt.Errorf("shows %d rows, past the writer's final count %d", c.seen, final)
		case final >= 0 && now.After(deadline):
			return fmt.Errorf("did not reach the writer's final count %d within a minute of it: stuck at %d", final, c.seen)
		case now.After(giveUp):
			return fmt.Errorf("no final count from the writer within 10 minutes (at %d rows)", c.seen)
		}
		if !moved {
			time.Sleep(100 * time.Microsecond)
		}
	}
}

// roleReadersReader opens the table read-only (PERSIST_SYNCED_ONLY: only
// synced rows) and follows the writer (see checker.follow) until its final
// count, printing "open <rows> <source>" and, at the end, "stats rows=<rows
// checked> refreshes=<n> maxlag=<rows>". With PERSIST_RELEASE_FILE it then
// prints "final <rows>" and keeps the table open until that file exists.
func roleReadersReader() int {
	synced := os.Getenv("PERSIST_SYNCED_ONLY") != ""
	s, _ := strconv.ParseUint(os.Getenv("PERSIST_TRIAL_SEED"), 10, 64)
	c, err := openChecker(os.Getenv("PERSIST_TEST_DIR"), synced, s)
	if err != nil {
		testproc.Say("error open: %v", err)
		return 1
	}
	testproc.Say("open %d %s", c.seen, c.tb.Recovered().Source)
	if err := c.follow(os.Getenv("PERSIST_DONE_FILE"), os.Getenv("PERSIST_ROUND_FILE"), synced); err != nil {
		testproc.Say("error: %v", err)
		return 1
	}
	testproc.Say("stats rows=%d refreshes=%d maxlag=%d", c.rows, c.refreshes, c.maxLag)
	if release := os.Getenv("PERSIST_RELEASE_FILE"); release != "" {
		testproc.Say("final %d", c.seen)
		for end := time.Now().Add(2 * time.Minute); readCount(release) < 0; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(end) {
				testproc.Say("error: not released within 2 minutes")
				return 1
			}
		}
	}
	if err := c.tb.Close(); err != nil {
		testproc.Say("error close: %v", err)
		return 1
	}
	return 0
}

// readerStats are what reader children reported.
type readerStats struct{ rows, refreshes, maxLag int }

func (s *readerStats) add(t *testing.T, line string) {
	t.Helper()
	var r readerStats
	if _, err := fmt.Sscanf(line, "stats rows=%d refreshes=%d maxlag=%d", &r.rows, &r.refreshes, &r.maxLag); err != nil {
		t.Fatalf("reader stats %q: %v", line, err)
	}
	s.rows += r.rows
	s.refreshes += r.refreshes
	s.maxLag = max(s.maxLag, r.maxLag)
}

func (s readerStats) String() string {
	return fmt.Sprintf("%d rows checked in %d refreshes, at most %d rows behind the writer at a refresh", s.rows, s.refreshes, s.maxLag)
}

func (s readerStats) record() { fig.readers(s.rows, s.refreshes, s.maxLag) }

// expectLine waits for a line of c that starts with prefix and returns it,
// failing the test with c's last lines and stderr if none comes.
func expectLine(t *testing.T, c *testproc.Child, prefix, what string, timeout time.Duration) string {
	t.Helper()
	got, ok := c.WaitLine(prefix, timeout)
	if !ok {
		t.Fatalf("%s: no line %q (it ended, or %v passed); last lines %q\nstderr:\n%s", what, prefix, timeout, tail(c), c.Stderr())
	}
	return got
}

// finish waits for c to end by itself and returns its lines; a child that
// fails, faults or does not end within timeout fails the test with its
// last lines and stderr.
func finish(t *testing.T, c *testproc.Child, what string, timeout time.Duration) []string {
	t.Helper()
	code := make(chan int, 1)
	go func() { code <- c.Wait() }()
	select {
	case k := <-code:
		if k != 0 {
			t.Fatalf("%s ended with %v; last lines %q\nstderr:\n%s", what, c.Cmd.ProcessState, tail(c), c.Stderr())
		}
	case <-time.After(timeout):
		c.Kill()
		t.Fatalf("%s did not end within %v; last lines %q\nstderr:\n%s", what, timeout, tail(c), c.Stderr())
	}
	return c.Lines()
}

// lineInt returns field k (0-based) of a child's line as a number.
func lineInt(t *testing.T, line string, k int) int {
	t.Helper()
	f := strings.Fields(line)
	if k >= len(f) {
		t.Fatalf("line %q has no field %d", line, k)
	}
	n, err := strconv.Atoi(f[k])
	if err != nil {
		t.Fatalf("line %q: %v", line, err)
	}
	return n
}

// newTable creates an empty table for child processes to share.
func newTable(t *testing.T, dir string) {
	t.Helper()
	tb, err := openTable(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := tb.Close(); err != nil {
		t.Fatal(err)
	}
}

// readerRate is how many rows a second a writer appends when readers must
// keep up: they check each row twice, in four processes on two cores.
func readerRate() int { return counts{short: 5_000, race: 40_000, def: 150_000, long: 100_000}.n() }

func seedEnv(s uint64) string { return "PERSIST_TRIAL_SEED=" + strconv.FormatUint(s, 10) }

// TestReadersBesideWriter runs a writer child that appends (single rows,
// small batches and batches that grow the files) and Syncs, while four
// reader children refresh and check every new row, some older ones, and
// that their count never goes back; each must reach the writer's final
// count and exit cleanly. With SyncedOnly, every count a reader shows must
// be one a Sync of the writer returned.
func TestReadersBesideWriter(t *testing.T) {
	track(t)
	ms := counts{short: 1000, race: 2000, def: 2000, long: 36_000}
	for _, synced := range []bool{false, true} {
		name := "all rows"
		d := time.Duration(ms.n()) * time.Millisecond
		if synced {
			name, d = "synced only", d/3
		}
		t.Run(name, func(t *testing.T) {
			st := readersBesideWriter(t, synced, d)
			st.record()
			t.Logf("%v: %v", d, st)
		})
	}
}

func readersBesideWriter(t *testing.T, synced bool, d time.Duration) readerStats {
	s := seed(t)
	tmp := t.TempDir()
	dir, done, hold := filepath.Join(tmp, "table"), filepath.Join(tmp, "done"), filepath.Join(tmp, "readers-open")
	newTable(t, dir)
	w := testproc.Start(t, "", "readers-writer", "PERSIST_TEST_DIR="+dir, seedEnv(s), "PERSIST_DONE_FILE="+done,
		"PERSIST_RUN_FOR_MS="+strconv.Itoa(int(d.Milliseconds())), "PERSIST_ROW_RATE="+strconv.Itoa(readerRate()),
		"PERSIST_HOLD_FILE="+hold)
	open := expectLine(t, w, "open ", "writer", time.Minute)
	env := []string{"PERSIST_TEST_DIR=" + dir, "PERSIST_DONE_FILE=" + done}
	if synced {
		env = append(env, "PERSIST_SYNCED_ONLY=1")
	}
	var readers []*testproc.Child
	for k := range 4 {
		readers = append(readers, testproc.Start(t, "", "readers-reader", append(env, seedEnv(s+uint64(k)+1))...))
	}
	for k, r := range readers {
		// The writer runs: a reader takes the count it published.
		if l := expectLine(t, r, "open ", fmt.Sprintf("reader %d", k), time.Minute); !strings.HasSuffix(l, " "+table.SourcePublished.String()) {
			t.Fatalf("reader %d opened beside a running writer with %q, want its count from %s", k, l, table.SourcePublished)
		}
	}
	if err := os.WriteFile(hold, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	wl := finish(t, w, "writer", d+3*time.Minute)
	final := lineInt(t, wl[len(wl)-1], 1)
	var st readerStats
	for k, r := range readers {
		lines := finish(t, r, fmt.Sprintf("reader %d", k), 3*time.Minute)
		st.add(t, lines[len(lines)-1])
		if !synced {
			continue
		}
		// Each count a SyncedOnly reader showed is one a Sync returned
		// (or the count committed when the writer opened).
		syncs := map[int]bool{lineInt(t, open, 2): true}
		for _, l := range wl {
			if strings.HasPrefix(l, "synced ") {
				syncs[lineInt(t, l, 1)] = true
			}
		}
		shown := 0
		for _, l := range lines {
			if strings.HasPrefix(l, "open ") || strings.HasPrefix(l, "n ") {
				if n := lineInt(t, l, 1); !syncs[n] {
					t.Fatalf("reader %d showed %d rows, a count no Sync of the writer returned (%d Syncs)", k, n, len(syncs))
				}
				shown++
			}
		}
		t.Logf("reader %d showed %d counts, each one a Sync returned (%d Syncs)", k, shown, len(syncs))
	}
	t.Logf("the writer appended %d rows", final)
	return st
}

// crashAppend and crashSync are crash points of appends and of Sync at
// which TestReadersSurviveWriterKill kills its writer, each with the most
// hits before it that a round may take.
var (
	crashAppend = map[string]int{"table.append": 300, "table.appendrows.column": 100}
	// A writer's first Sync is a checkpoint, the others are logged
	// (unless large): the checkpoint's points are reached once a round.
	crashSync = map[string]int{"table.sync.flush": 1, "table.sync.commit": 1, "table.sync.commit.written": 1,
		"table.sync.log": 5, "table.sync.log.written": 5, "table.sync.done": 5}
)

// TestReadersSurviveWriterKill keeps three reader children (one SyncedOnly)
// on a table whose writer child is killed with SIGKILL, round after round:
// at a crash point of an append or a Sync, or at a random moment. After each
// kill every reader must refresh without an error and find every row up to
// its count intact; then a new writer opens (recovering the table while the
// readers have it mapped) with no fewer rows than any reader showed, and
// appends on. Counts never go back, and at the end every reader reaches the
// last writer's final count.
func TestReadersSurviveWriterKill(t *testing.T) {
	track(t)
	s := seed(t)
	rng := newRand(s)
	rounds := counts{short: 3, race: 6, def: 12, long: 60}.n()
	tmp := t.TempDir()
	dir, done, roundFile := filepath.Join(tmp, "table"), filepath.Join(tmp, "done"), filepath.Join(tmp, "round")
	newTable(t, dir)
	var readers []*testproc.Child
	shown, points := 0, map[string]int{}
	for round := 1; round <= rounds; round++ {
		env := []string{"PERSIST_TEST_DIR=" + dir, seedEnv(rng.Uint64())}
		point, limits := "", map[string]int(nil)
		switch rng.IntN(3) {
		case 0:
			limits = crashAppend
		case 1:
			limits = crashSync
		}
		if limits != nil {
			names := slices.Sorted(maps.Keys(limits))
			point = names[rng.IntN(len(names))]
			env = append(env, "PERSIST_CRASH_NAME="+point)
			env = append(env, testproc.CrashAt(1+rng.IntN(limits[point]), filepath.Join(tmp, fmt.Sprintf("points-%d", round)))...)
		}
		if _, ok := crashAppend[point]; !ok {
			env = append(env, "PERSIST_ROUND_ROWS="+strconv.Itoa(counts{short: 5_000, race: 20_000, def: 30_000, long: 30_000}.n()))
		}
		w := testproc.Start(t, "", "readers-writer", env...)
		what := fmt.Sprintf("round %d (kill at %q)", round, point)
		if n := lineInt(t, expectLine(t, w, "open ", what+": writer", time.Minute), 1); n < shown {
			t.Fatalf("%s: the writer recovered %d rows, but a reader showed %d", what, n, shown)
		}
		if round == 1 {
			for k := range 3 {
				renv := []string{"PERSIST_TEST_DIR=" + dir, "PERSIST_DONE_FILE=" + done, "PERSIST_ROUND_FILE=" + roundFile, seedEnv(s + uint64(k))}
				if k == 2 {
					renv = append(renv, "PERSIST_SYNCED_ONLY=1")
				}
				readers = append(readers, testproc.Start(t, "", "readers-reader", renv...))
				expectLine(t, readers[k], "open ", fmt.Sprintf("reader %d", k), time.Minute)
			}
		}
		if point == "" {
			time.Sleep(time.Duration(rng.IntN(30_000)) * time.Microsecond)
			w.Kill()
		} else {
			w.Wait()
			log := testproc.CrashLog(t, filepath.Join(tmp, fmt.Sprintf("points-%d", round)))
			if !w.Killed() || len(log) == 0 || log[len(log)-1] != point {
				t.Fatalf("%s: the writer ended with %v, last crash points %q; last lines %q\nstderr:\n%s",
					what, w.Cmd.ProcessState, log[max(0, len(log)-3):], tail(w), w.Stderr())
			}
			points[point]++
			fig.hook(point)
		}
		if err := writeCount(roundFile, round); err != nil {
			t.Fatal(err)
		}
		for k, r := range readers {
			l := expectLine(t, r, fmt.Sprintf("round %d ", round), fmt.Sprintf("%s: reader %d", what, k), time.Minute)
			shown = max(shown, lineInt(t, l, 2))
		}
	}
	w := testproc.Start(t, "", "readers-writer", "PERSIST_TEST_DIR="+dir, seedEnv(rng.Uint64()), "PERSIST_DONE_FILE="+done,
		"PERSIST_RUN_FOR_MS=300", "PERSIST_ROW_RATE="+strconv.Itoa(readerRate()))
	if n := lineInt(t, expectLine(t, w, "open ", "last writer", time.Minute), 1); n < shown {
		t.Fatalf("the last writer recovered %d rows, but a reader showed %d", n, shown)
	}
	wl := finish(t, w, "last writer", 3*time.Minute)
	var st readerStats
	for k, r := range readers {
		lines := finish(t, r, fmt.Sprintf("reader %d", k), 3*time.Minute)
		st.add(t, lines[len(lines)-1])
	}
	fig.add(&fig.trials, rounds)
	st.record()
	crashes := 0
	for _, k := range points {
		crashes += k
	}
	fig.add(&fig.crashRuns, crashes)
	t.Logf("%d writers killed under 3 readers (%d at crash points: %v), then %s; %s", rounds, crashes, points, wl[len(wl)-1], st)
}

// TestReaderKilled kills reader children with SIGKILL at random moments (in
// a Refresh or a read: that is most of their time) while a writer child
// appends and three other readers follow it. The writer and the other
// readers must go on unaffected, a killed reader's flock must be gone as
// soon as it is, and afterwards Repair, which excludes readers, must name
// exactly the readers still open and then, once they closed, succeed.
func TestReaderKilled(t *testing.T) {
	track(t)
	s := seed(t)
	rng := newRand(s)
	d := time.Duration(counts{short: 1000, race: 1000, def: 1500, long: 5000}.n()) * time.Millisecond
	victims := counts{short: 3, race: 6, def: 10, long: 40}.n()
	tmp := t.TempDir()
	dir, done, release := filepath.Join(tmp, "table"), filepath.Join(tmp, "done"), filepath.Join(tmp, "release")
	newTable(t, dir)
	holders := func() []int {
		pids, err := lockfile.Holders(filepath.Join(dir, "READERS"))
		if err != nil {
			t.Fatal(err)
		}
		return pids
	}
	_, err := os.Stat("/proc/locks")
	kernelTells := err == nil // elsewhere Holders knows nothing

	w := testproc.Start(t, "", "readers-writer", "PERSIST_TEST_DIR="+dir, seedEnv(s), "PERSIST_DONE_FILE="+done,
		"PERSIST_RUN_FOR_MS="+strconv.Itoa(int(d.Milliseconds())), "PERSIST_ROW_RATE="+strconv.Itoa(readerRate()))
	expectLine(t, w, "open ", "writer", time.Minute)
	var stay []*testproc.Child
	var stayPIDs []int
	for k := range 3 {
		r := testproc.Start(t, "", "readers-reader", "PERSIST_TEST_DIR="+dir, "PERSIST_DONE_FILE="+done,
			"PERSIST_RELEASE_FILE="+release, seedEnv(s+uint64(k)+1))
		expectLine(t, r, "open ", fmt.Sprintf("reader %d", k), time.Minute)
		stay, stayPIDs = append(stay, r), append(stayPIDs, r.Cmd.Process.Pid)
	}
	for v := range victims {
		// No done file: a victim follows the writer until it is killed.
		c := testproc.Start(t, "", "readers-reader", "PERSIST_TEST_DIR="+dir, seedEnv(rng.Uint64()))
		what := fmt.Sprintf("victim %d", v)
		expectLine(t, c, "open ", what, time.Minute)
		time.Sleep(time.Duration(rng.IntN(20_000)) * time.Microsecond)
		c.Kill()
		if !c.Killed() || slices.ContainsFunc(c.Lines(), func(l string) bool { return strings.HasPrefix(l, "error") }) {
			t.Fatalf("%s ended with %v before the kill; last lines %q\nstderr:\n%s", what, c.Cmd.ProcessState, tail(c), c.Stderr())
		}
		if pid := c.Cmd.Process.Pid; kernelTells && slices.Contains(holders(), pid) {
			t.Fatalf("%s (pid %d) was killed, but still holds a flock on READERS: holders %v", what, pid, holders())
		}
	}
	wl := finish(t, w, "writer", d+3*time.Minute)
	final := lineInt(t, wl[len(wl)-1], 1)
	for k, r := range stay {
		if n := lineInt(t, expectLine(t, r, "final ", fmt.Sprintf("reader %d", k), 2*time.Minute), 1); n != final {
			t.Fatalf("reader %d ended at %d rows, the writer at %d", k, n, final)
		}
	}

	_, err = table.Repair(dir, nil)
	var re *table.ReadersError
	if !errors.Is(err, table.ErrReaders) || !errors.As(err, &re) {
		t.Fatalf("Repair with three readers open: want a *ReadersError, got %v", err)
	}
	if kernelTells {
		got, want := slices.Sorted(slices.Values(re.PIDs)), slices.Sorted(slices.Values(stayPIDs))
		if !slices.Equal(got, want) {
			t.Fatalf("Repair names readers %v, want exactly the open ones %v (%d were killed)", got, want, victims)
		}
	}
	if err := writeCount(release, 1); err != nil {
		t.Fatal(err)
	}
	var st readerStats
	for k, r := range stay {
		finish(t, r, fmt.Sprintf("reader %d", k), time.Minute)
		st.add(t, expectLine(t, r, "stats ", fmt.Sprintf("reader %d", k), 0))
	}
	rep, err := table.Repair(dir, nil)
	if err != nil {
		t.Fatalf("Repair after every reader closed or was killed: %v", err)
	}
	if rep.Rows != final {
		t.Fatalf("Repair committed %d rows, the writer appended %d", rep.Rows, final)
	}
	if pids := holders(); len(pids) != 0 {
		t.Fatalf("flocks on READERS remain after every reader ended: %v", pids)
	}
	fig.add(&fig.trials, victims)
	st.record()
	t.Logf("%d readers killed beside a writer that appended %d rows; the others: %s", victims, final, st)
}

// TestReaderInWriterProcess runs a writer and a reader of one table in one
// process: a goroutine appends, sets single rows with SetRow and changes
// groups of rows through column slices inside Update, while the test reads
// with Consistent and RowConsistent. Rows 16g..16g+7 only change as a group
// (one Update gives all eight one version), rows 16g+8..16g+15 one by one
// (SetRow); a row's fields all derive from its version, and versions only
// grow. So a consistent read never sees a torn row, a group of mixed
// versions, or a version older than one seen before.
func TestReaderInWriterProcess(t *testing.T) {
	track(t)
	s := seed(t)
	rng := newRand(s)
	d := time.Duration(counts{short: 500, race: 1000, def: 1500, long: 5000}.n()) * time.Millisecond
	dir := filepath.Join(t.TempDir(), "table")
	w, err := openTable(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	first := make([]trow, 4096)
	for i := range first {
		first[i] = mkTRow(uint64(i), 0)
	}
	if err := w.AppendRows(first); err != nil {
		t.Fatal(err)
	}
	r, err := table.Open[trow](dir, &table.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()

	var stop atomic.Bool
	changes := make(chan inPlaceResult, 1)
	go func() { changes <- changeInPlace(w, newRand(s^1), &stop) }()
	var (
		reads, retries, last int
		checked              int
		seen                 []uint64 // the newest version read of each row
		buf                  = make([]trow, 512)
	)
	fail := func(format string, args ...any) {
		stop.Store(true)
		<-changes
		t.Fatalf(format, args...)
	}
	// checkRows checks rows read consistently from row from.
	checkRows := func(from int, rows []trow) {
		checked += len(rows)
		for j, row := range rows {
			i := from + j
			if row.ID != uint64(i) || row.torn() {
				fail("row %d read consistently is %+v (torn %v)", i, row, row.torn())
			}
			if i >= len(seen) {
				seen = append(seen, make([]uint64, i+1-len(seen)+4096)...)
			}
			if row.V < seen[i] {
				fail("row %d read consistently at version %d after version %d", i, row.V, seen[i])
			}
			seen[i] = row.V
			if g := i &^ 15; i%16 < 8 && g >= from && g+8 <= from+len(rows) && row.V != rows[g-from].V {
				fail("rows %d and %d of one Update read consistently at versions %d and %d", g, i, rows[g-from].V, row.V)
			}
		}
	}
	for start := time.Now(); time.Since(start) < d; reads++ {
		n := r.Len()
		switch rng.IntN(3) {
		case 0:
			i := rng.IntN(n)
			row, err := r.RowConsistent(i)
			if err != nil {
				fail("RowConsistent(%d): %v", i, err)
			}
			checkRows(i, []trow{row})
		default:
			from, k := rng.IntN(n/16)*16, 16
			if rng.IntN(2) == 0 {
				k = len(buf)
			}
			calls, got := 0, 0
			err := r.Consistent(func() error {
				calls++
				var err error
				got, err = r.ReadRows(buf[:k], from)
				return err
			})
			if err != nil {
				fail("Consistent ReadRows from %d: %v", from, err)
			}
			retries += calls - 1
			checkRows(from, buf[:got])
		}
		if r.Len() < last {
			fail("the reader's count went back from %d to %d", last, r.Len())
		}
		last = r.Len()
	}
	stop.Store(true)
	res := <-changes
	if res.err != nil {
		t.Fatal(res.err)
	}
	// Quiet now: the reader shows exactly the writer's rows.
	if err := r.Refresh(); err != nil {
		t.Fatal(err)
	}
	got, err1 := readRows(r)
	want, err2 := readRows(w)
	if err := errors.Join(err1, err2); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("the reader shows %d rows, the writer has %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("row %d: the reader reads %+v, the writer %+v", i, got[i], want[i])
		}
	}
	fig.readers(checked, reads, 0)
	t.Logf("%d consistent reads of %d rows (%d retried a change in place) beside %d appends, %d SetRows and %d Updates; %d rows",
		reads, checked, retries, res.appends, res.setRows, res.updates, len(want))
}

type inPlaceResult struct {
	appends, setRows, updates int
	err                       error
}

// changeInPlace is the writer of TestReaderInWriterProcess: until stop, it
// appends rows at version 0, sets single rows to new versions, and gives
// groups of eight rows a new version inside Update, field by field through
// column slices or by SetRow.
func changeInPlace(w *table.Table[trow], rng *rand.Rand, stop *atomic.Bool) (res inPlaceResult) {
	vs, err1 := table.Column[uint64](w, "V")
	as, err2 := table.Column[int32](w, "A")
	bs, err3 := table.Column[[3]uint16](w, "B")
	sums, err4 := table.Column[uint64](w, "Sum")
	if res.err = errors.Join(err1, err2, err3, err4); res.err != nil {
		return res
	}
	batch := make([]trow, 0, 256)
	for ver := uint64(1); !stop.Load(); ver++ {
		n := w.Len()
		g := rng.IntN(n/16) * 16
		switch k := rng.IntN(10); {
		case k < 3 && n < 50_000: // few rows: the reads overlap more changes
			batch = batch[:0]
			for i := range 1 + rng.IntN(cap(batch)) {
				batch = append(batch, mkTRow(uint64(n+i), 0))
			}
			res.err = w.AppendRows(batch)
			res.appends++
		case k < 6:
			i := g + 8 + rng.IntN(8)
			res.err = w.SetRow(i, mkTRow(uint64(i), ver))
			res.setRows++
		default:
			bySetRow := k == 9
			res.err = w.Update(func() error {
				v, a, b, sum := vs.Slice(), as.Slice(), bs.Slice(), sums.Slice()
				for i := g; i < g+8; i++ {
					row := mkTRow(uint64(i), ver)
					if bySetRow {
						if err := w.SetRow(i, row); err != nil {
							return err
						}
						continue
					}
					v[i], a[i], b[i], sum[i] = row.V, row.A, row.B, row.Sum
				}
				return nil
			})
			res.updates++
		}
		if res.err != nil {
			return res
		}
	}
	return res
}

// roleReadersSnapshot opens the table read-only and takes snapshots into
// PERSIST_SNAPSHOT_DIR/snap-<k>, k = 0, 1, ..., printing "snapshot-begin
// <k>" and "snapshot <k> <rows>", until it is killed.
func roleReadersSnapshot() int {
	tb, err := table.Open[trow](os.Getenv("PERSIST_TEST_DIR"), &table.Options{ReadOnly: true})
	if err != nil {
		testproc.Say("error open: %v", err)
		return 1
	}
	testproc.Say("open %d", tb.Len())
	snapDir := os.Getenv("PERSIST_SNAPSHOT_DIR")
	for k, end := 0, time.Now().Add(2*time.Minute); time.Now().Before(end); k++ {
		testproc.Say("snapshot-begin %d", k)
		if err := tb.Snapshot(filepath.Join(snapDir, "snap-"+strconv.Itoa(k))); err != nil {
			testproc.Say("error snapshot %d: %v", k, err)
			return 1
		}
		testproc.Say("snapshot %d %d", k, tb.Len())
	}
	testproc.Say("error: not killed within 2 minutes")
	return 3
}

// checkSnapshot opens a snapshot as an ordinary table and checks that it
// is committed and holds rows of the generator only, want of them (-1: any
// number); it returns the row count.
func checkSnapshot(dst string, want int) (int, error) {
	tb, err := openTable(dst, true)
	if err != nil {
		return 0, err
	}
	defer tb.Close()
	n := tb.Len()
	if want >= 0 && n != want {
		return n, fmt.Errorf("%d rows, want %d", n, want)
	}
	if rec := tb.Recovered(); rec.CommittedRows != n {
		return n, fmt.Errorf("%d rows, of which %d committed (%s)", n, rec.CommittedRows, rec)
	}
	if err := checkFiles(tb); err != nil {
		return n, err
	}
	rows, err := readRows(tb)
	if err != nil {
		return n, err
	}
	for i, r := range rows {
		if r != genRow(i) {
			return n, fmt.Errorf("row %d of %d is %+v (torn %v), want %+v", i, n, r, r.torn(), genRow(i))
		}
	}
	return n, nil
}

// snapshotLines maps each snapshot a child finished to its row count, and
// returns the one it began last and did not finish (-1: none).
func snapshotLines(t *testing.T, lines []string) (map[int]int, int) {
	t.Helper()
	rows, inFlight := map[int]int{}, -1
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "snapshot-begin "):
			inFlight = lineInt(t, l, 1)
		case strings.HasPrefix(l, "snapshot "):
			rows[lineInt(t, l, 1)] = lineInt(t, l, 2)
			inFlight = -1
		}
	}
	return rows, inFlight
}

// TestSnapshotDuringAppends takes snapshots of a table that a writer child
// appends to: from a reader in the test's process, and from the writer
// itself. Each opens as an ordinary committed table whose rows are a prefix
// of the generator's, as many as its taker showed. Then snapshot takers (a
// reader child, or the writer child) are killed part way, at each of the
// snapshot's crash points or at random moments: the destination is then
// absent or a complete table, and a hidden sibling the build left never
// opens at the destination's name and goes with the next Snapshot there.
func TestSnapshotDuringAppends(t *testing.T) {
	track(t)
	d := time.Duration(counts{short: 500, race: 500, def: 1000, long: 5000}.n()) * time.Millisecond
	t.Run("from a reader", func(t *testing.T) {
		s := seed(t)
		tmp := t.TempDir()
		dir, done := filepath.Join(tmp, "table"), filepath.Join(tmp, "done")
		newTable(t, dir)
		w := testproc.Start(t, "", "readers-writer", "PERSIST_TEST_DIR="+dir, seedEnv(s), "PERSIST_DONE_FILE="+done,
			"PERSIST_RUN_FOR_MS="+strconv.Itoa(int(d.Milliseconds())), "PERSIST_ROW_RATE="+strconv.Itoa(readerRate()))
		expectLine(t, w, "open ", "writer", time.Minute)
		r, err := openTable(dir, true)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		snaps, rows := 0, 0
		for ; readCount(done) < 0; snaps++ {
			before := r.Len()
			dst := filepath.Join(tmp, "snap-"+strconv.Itoa(snaps))
			if err := r.Snapshot(dst); err != nil {
				t.Fatalf("snapshot %d: %v", snaps, err)
			}
			n, err := checkSnapshot(dst, r.Len())
			if err != nil {
				t.Fatalf("snapshot %d, taken at %d rows or more: %v", snaps, before, err)
			}
			if n < before {
				t.Fatalf("snapshot %d holds %d rows; the reader showed %d before it", snaps, n, before)
			}
			rows = max(rows, n)
			if err := os.RemoveAll(dst); err != nil {
				t.Fatal(err)
			}
		}
		wl := finish(t, w, "writer", 3*time.Minute)
		fig.add(&fig.cases, snaps)
		t.Logf("%d snapshots from a reader, the largest of %d rows, while the writer appended %s", snaps, rows, wl[len(wl)-1])
	})
	t.Run("from the writer", func(t *testing.T) {
		s := seed(t)
		tmp := t.TempDir()
		dir, snapDir := filepath.Join(tmp, "table"), filepath.Join(tmp, "snaps")
		mkdir(t, snapDir)
		newTable(t, dir)
		w := testproc.Start(t, "", "readers-writer", "PERSIST_TEST_DIR="+dir, seedEnv(s), "PERSIST_SNAPSHOT_DIR="+snapDir,
			"PERSIST_RUN_FOR_MS="+strconv.Itoa(int(d.Milliseconds())), "PERSIST_ROW_RATE="+strconv.Itoa(readerRate()))
		rows, _ := snapshotLines(t, finish(t, w, "writer", 3*time.Minute))
		if len(rows) == 0 {
			t.Fatalf("the writer took no snapshot")
		}
		for k, n := range rows {
			if _, err := checkSnapshot(filepath.Join(snapDir, "snap-"+strconv.Itoa(k)), n); err != nil {
				t.Fatalf("snapshot %d of the writer: %v", k, err)
			}
		}
		fig.add(&fig.cases, len(rows))
		t.Logf("%d snapshots from the writer", len(rows))
	})
	t.Run("killed", func(t *testing.T) {
		snapshotKilled(t)
	})
}

// snapshotPoints are the crash points of a Snapshot, in order.
var snapshotPoints = []string{"table.snapshot.columns", "table.snapshot.commit", "table.snapshot.rename", "table.snapshot.renamed"}

func snapshotKilled(t *testing.T) {
	s := seed(t)
	rng := newRand(s)
	rounds := counts{short: 4, race: 5, def: 12, long: 40}.n()
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "table")
	newTable(t, dir)
	points := map[string]int{}
	for round := range rounds {
		snapDir := filepath.Join(tmp, fmt.Sprintf("snaps-%d", round))
		mkdir(t, snapDir)
		byWriter := rng.IntN(2) == 0
		point := ""
		if round < 2*len(snapshotPoints) {
			// Each point, by either taker in turn, then by the other.
			point = snapshotPoints[round%len(snapshotPoints)]
			byWriter = (round+round/len(snapshotPoints))%2 == 1
		} else if rng.IntN(2) == 0 {
			point = snapshotPoints[rng.IntN(len(snapshotPoints))]
		}
		crashEnv := []string{}
		logPath := filepath.Join(tmp, fmt.Sprintf("points-%d", round))
		if point != "" {
			crashEnv = append(testproc.CrashAt(1+rng.IntN(2), logPath), "PERSIST_CRASH_NAME="+point)
		}
		wenv := []string{"PERSIST_TEST_DIR=" + dir, seedEnv(rng.Uint64()), "PERSIST_ROUND_ROWS=20000"}
		if byWriter {
			wenv = append(append(wenv, "PERSIST_SNAPSHOT_DIR="+snapDir), crashEnv...)
		}
		w := testproc.Start(t, "", "readers-writer", wenv...)
		expectLine(t, w, "open ", "writer", time.Minute)
		taker := w
		if !byWriter {
			taker = testproc.Start(t, "", "readers-snapshot", append([]string{"PERSIST_TEST_DIR=" + dir, "PERSIST_SNAPSHOT_DIR=" + snapDir}, crashEnv...)...)
		}
		what := fmt.Sprintf("round %d (by the writer %v, kill at %q)", round, byWriter, point)
		if point == "" {
			expectLine(t, taker, "snapshot-begin ", what, time.Minute)
			time.Sleep(time.Duration(rng.IntN(5_000)) * time.Microsecond)
			taker.Kill()
		} else {
			taker.Wait()
			log := testproc.CrashLog(t, logPath)
			if !taker.Killed() || len(log) == 0 || log[len(log)-1] != point {
				t.Fatalf("%s: the taker ended with %v, last crash points %q; last lines %q\nstderr:\n%s",
					what, taker.Cmd.ProcessState, log[max(0, len(log)-3):], tail(taker), taker.Stderr())
			}
			points[point]++
			fig.hook(point)
		}
		w.Kill()
		done, inFlight := snapshotLines(t, taker.Lines())
		checkSnapshotsLeft(t, dir, snapDir, done, inFlight, point, what)
	}
	fig.add(&fig.trials, rounds)
	t.Logf("%d snapshot takers killed (at crash points: %v)", rounds, points)
}

// checkSnapshotsLeft checks what a killed snapshot taker left in snapDir:
// each finished snapshot complete, the one in flight absent (before its
// rename) or complete (after), and no other entry but hidden build
// directories of the one in flight. Then a Snapshot to the name in flight
// succeeds and removes them.
func checkSnapshotsLeft(t *testing.T, dir, snapDir string, done map[int]int, inFlight int, point, what string) {
	t.Helper()
	for k, n := range done {
		if _, err := checkSnapshot(filepath.Join(snapDir, "snap-"+strconv.Itoa(k)), n); err != nil {
			t.Fatalf("%s: finished snapshot %d: %v", what, k, err)
		}
	}
	if point != "" && inFlight < 0 {
		t.Fatalf("%s: killed at a snapshot's crash point, but no snapshot was in flight", what)
	}
	name := "snap-" + strconv.Itoa(inFlight)
	entries, err := os.ReadDir(snapDir)
	if err != nil {
		t.Fatal(err)
	}
	hidden := 0
	for _, e := range entries {
		switch {
		case e.Name() == name && inFlight >= 0:
		case strings.HasPrefix(e.Name(), "snap-"):
			k, err := strconv.Atoi(strings.TrimPrefix(e.Name(), "snap-"))
			if _, ok := done[k]; err != nil || !ok {
				t.Fatalf("%s: %s is no snapshot the taker finished", what, e.Name())
			}
		case inFlight >= 0 && strings.HasPrefix(e.Name(), "."+name+".snapshot-"):
			hidden++
		default:
			t.Fatalf("%s: unexpected entry %s", what, e.Name())
		}
	}
	if inFlight < 0 {
		return
	}
	dst := filepath.Join(snapDir, name)
	_, err = os.Lstat(dst)
	exists := err == nil
	switch {
	case point == "table.snapshot.renamed" && (!exists || hidden > 0):
		t.Fatalf("%s: killed after the rename: %s exists %v, %d hidden build directories", what, name, exists, hidden)
	case point != "" && point != "table.snapshot.renamed" && (exists || hidden != 1):
		t.Fatalf("%s: killed before the rename: %s exists %v, %d hidden build directories, want 1", what, name, exists, hidden)
	}
	if exists {
		if _, err := checkSnapshot(dst, -1); err != nil {
			t.Fatalf("%s: the snapshot in flight, %s, exists but is not complete: %v", what, name, err)
		}
		return
	}
	// The build left aside is no table at the destination's name.
	if _, err := openTable(dst, true); !errors.Is(err, table.ErrNotTable) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("%s: opening %s, where only a build was left: want ErrNotTable, got %v", what, name, err)
	}
	tb, err := openTable(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	defer tb.Close()
	if err := tb.Snapshot(dst); err != nil {
		t.Fatalf("%s: a new snapshot to %s: %v", what, name, err)
	}
	if _, err := checkSnapshot(dst, tb.Len()); err != nil {
		t.Fatalf("%s: the new snapshot %s: %v", what, name, err)
	}
	entries, err = os.ReadDir(snapDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".") {
			continue
		}
		// A build killed between its mkdir and its claim stays 0700: no
		// cleaner can tell it from one starting, and leaves it (by design).
		fi, err := os.Lstat(filepath.Join(snapDir, e.Name()))
		if point != "" || err != nil || !fi.IsDir() || fi.Mode().Perm()&0o077 != 0 {
			t.Fatalf("%s: %s (%v) remains after a new snapshot to %s", what, e.Name(), fi.Mode(), name)
		}
		t.Logf("%s: %s, a build killed before its claim, remains", what, e.Name())
	}
}
