// Readers beside a writer of a table with string, []byte and Symbol
// columns, across processes: a writer child appends while reader children
// refresh and check every value they are shown.

package torture_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mmapvec/persistence/column"
	"github.com/mmapvec/persistence/internal/testproc"
	"github.com/mmapvec/persistence/table"
)

func init() {
	roles["strings-writer"] = roleStringsWriter
	roles["strings-reader"] = roleStringsReader
}

// sGen is row i of the append-only string workload.
func sGen(i int) srow { return mkSRow(uint64(i), appendVer) }

// roleStringsWriter appends rows of sGen from the table's length (runs of
// single Appends, and batches, some that grow every file), and Syncs at
// least every 20 ms, printing "synced <rows>". It runs for
// PERSIST_RUN_FOR_MS at up to PERSIST_ROW_RATE rows a second, keeps the
// table open until PERSIST_HOLD_FILE exists, then Syncs, closes, writes its
// final count to PERSIST_DONE_FILE and prints "done <rows>".
func roleStringsWriter() int {
	dir := os.Getenv("PERSIST_TEST_DIR")
	s, _ := strconv.ParseUint(os.Getenv("PERSIST_TRIAL_SEED"), 10, 64)
	runFor := time.Duration(envInt("PERSIST_RUN_FOR_MS")) * time.Millisecond
	rate := envInt("PERSIST_ROW_RATE")
	rng := newRand(s)
	tb, err := openSTable(dir, false)
	if err != nil {
		testproc.Say("error open: %v", err)
		return 1
	}
	start, first, lastSync := time.Now(), tb.Len(), time.Now()
	testproc.Say("open %d %d", first, tb.Recovered().CommittedRows)
	for time.Since(start) < runFor {
		n := tb.Len()
		syncDue := time.Since(lastSync) > 20*time.Millisecond
		if float64(n-first) > float64(rate)*time.Since(start).Seconds() && !syncDue {
			time.Sleep(200 * time.Microsecond)
			continue
		}
		switch k := rng.IntN(100); {
		case k >= 95 || syncDue:
			if err := tb.Sync(); err != nil {
				testproc.Say("error sync: %v", err)
				return 1
			}
			testproc.Say("synced %d", n)
			lastSync = time.Now()
		case k < 50:
			for range 1 + rng.IntN(16) {
				if err := tb.Append(sGen(tb.Len())); err != nil {
					testproc.Say("error append: %v", err)
					return 1
				}
			}
		default:
			c := 2 + rng.IntN(100)
			if k >= 92 {
				c = 500 + rng.IntN(2000) // grows the files
			}
			batch := make([]srow, c)
			for i := range batch {
				batch[i] = sGen(n + i)
			}
			if err := tb.AppendRows(batch); err != nil {
				testproc.Say("error append rows: %v", err)
				return 1
			}
		}
	}
	for wait := time.Now(); time.Since(wait) < 2*time.Minute; time.Sleep(time.Millisecond) {
		if _, err := os.Stat(os.Getenv("PERSIST_HOLD_FILE")); err == nil {
			break
		}
	}
	if err := tb.Sync(); err != nil {
		testproc.Say("error sync: %v", err)
		return 1
	}
	n := tb.Len()
	testproc.Say("synced %d", n)
	if err := tb.Close(); err != nil {
		testproc.Say("error close: %v", err)
		return 1
	}
	if err := writeCount(os.Getenv("PERSIST_DONE_FILE"), n); err != nil {
		testproc.Say("error: %v", err)
		return 1
	}
	testproc.Say("done %d", n)
	return 0
}

// sChecker is a reader that checks every row it is shown, through
// ReadRows, Row, and views taken once at open that must follow the heaps
// and dictionary as they grow.
type sChecker struct {
	tb              *table.Table[srow]
	urls, bodies    *column.Strings
	syms            *column.Symbols
	buf             []srow
	seen            int
	rows, refreshes int
	maxLag          int
}

func (c *sChecker) check(from, to int) error {
	n := c.tb.Len()
	if c.urls.Len() != n || c.bodies.Len() != n || c.syms.Len() != n {
		return fmt.Errorf("views of %d, %d, %d rows; the table has %d", c.urls.Len(), c.bodies.Len(), c.syms.Len(), n)
	}
	for i := from; i < to; {
		k, err := c.tb.ReadRows(c.buf, i)
		if err != nil {
			return fmt.Errorf("ReadRows from %d of %d rows: %w", i, n, err)
		}
		if k = min(k, to-i); k <= 0 {
			return fmt.Errorf("ReadRows from %d of %d rows read none", i, n)
		}
		for j, r := range c.buf[:k] {
			want := sGen(i + j).val()
			if got := r.val(); got != want {
				return fmt.Errorf("row %d of %d (ReadRows) is %v (torn %v), want %v", i+j, n, got, got.torn(), want)
			}
			code := c.syms.Code(i + j)
			if c.urls.String(i+j) != want.URL || string(c.bodies.Bytes(i+j)) != want.Body || c.syms.String(i+j) != want.Country {
				return fmt.Errorf("row %d of %d: the views show URL %q, Body of %d bytes, Country %q (code %d); want %v",
					i+j, n, c.urls.String(i+j), len(c.bodies.Bytes(i+j)), c.syms.String(i+j), code, want)
			}
			if got, ok := c.syms.Lookup(want.Country); want.Country != "" && (!ok || got != code) {
				return fmt.Errorf("row %d: Country %q has code %d, Lookup gives %d, %v", i+j, want.Country, code, got, ok)
			}
		}
		i += k
	}
	c.rows += to - from
	return nil
}

// refresh moves to the writer's latest count (never lower: the writer only
// appends), checks the new rows and a few older ones by Row.
func (c *sChecker) refresh(rng interface{ IntN(int) int }) (bool, error) {
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
		i := rng.IntN(n)
		if got, want := c.tb.Row(i).val(), sGen(i).val(); got != want {
			return false, fmt.Errorf("older row %d of %d (Row) is %v (torn %v), want %v", i, n, got, got.torn(), want)
		}
	}
	return moved, nil
}

// roleStringsReader opens the table read-only (PERSIST_SYNCED_ONLY: only
// synced rows) and refreshes and checks until it shows the writer's final
// count (PERSIST_DONE_FILE), printing "open <rows> <source>", "n <rows>"
// each time its count moves, and at the end "stats rows=<rows checked>
// refreshes=<n> maxlag=<rows>".
func roleStringsReader() int {
	s, _ := strconv.ParseUint(os.Getenv("PERSIST_TRIAL_SEED"), 10, 64)
	rng := newRand(s)
	tb, err := table.Open[srow](os.Getenv("PERSIST_TEST_DIR"), &table.Options{ReadOnly: true, SyncedOnly: os.Getenv("PERSIST_SYNCED_ONLY") != ""})
	if err != nil {
		testproc.Say("error open: %v", err)
		return 1
	}
	defer tb.Close()
	c := &sChecker{tb: tb, buf: make([]srow, 256), seen: tb.Len()}
	var err1, err2, err3 error
	c.urls, err1 = table.Strings(tb, "URL")
	c.bodies, err2 = table.Strings(tb, "Body")
	c.syms, err3 = table.Symbols(tb, "Country")
	if err := firstErr(err1, err2, err3, c.check(0, c.seen)); err != nil {
		testproc.Say("error: %v", err)
		return 1
	}
	testproc.Say("open %d %s", c.seen, tb.Recovered().Source)
	final, deadline := -1, time.Now().Add(10*time.Minute)
	for final < 0 || c.seen < final {
		moved, err := c.refresh(rng)
		if err != nil {
			testproc.Say("error: %v", err)
			return 1
		}
		if moved {
			testproc.Say("n %d", c.seen)
		}
		if final < 0 {
			if final = readCount(os.Getenv("PERSIST_DONE_FILE")); final >= 0 {
				deadline = time.Now().Add(time.Minute)
			}
		}
		if final >= 0 && c.seen > final {
			testproc.Say("error: shows %d rows, past the writer's final count %d", c.seen, final)
			return 1
		}
		if time.Now().After(deadline) {
			testproc.Say("error: stuck at %d rows (the writer's final count: %d)", c.seen, final)
			return 1
		}
		if !moved {
			time.Sleep(100 * time.Microsecond)
		}
	}
	if err := c.check(0, c.seen); err != nil {
		testproc.Say("error: at the end: %v", err)
		return 1
	}
	testproc.Say("stats rows=%d refreshes=%d maxlag=%d", c.rows, c.refreshes, c.maxLag)
	return 0
}

// TestTableStringsReadersBesideWriter runs a writer child that appends to
// a table with string, []byte and Symbol columns (single rows, batches,
// batches that grow every file) and Syncs, while two reader children (one
// SyncedOnly) refresh and check every new row, by ReadRows and through
// views taken once at open, which must follow the heaps and the
// dictionary: every value exactly the one the writer appended, every symbol
// code the dictionary's for it, the count never going back. Each reader
// must reach the writer's final count; each count the SyncedOnly one shows
// must be one a Sync returned.
func TestTableStringsReadersBesideWriter(t *testing.T) {
	track(t)
	s := seed(t)
	d := time.Duration(counts{short: 800, race: 1000, def: 2000, long: 30_000}.n()) * time.Millisecond
	rate := counts{short: 2_000, race: 8_000, def: 30_000, long: 30_000}.n()
	tmp := t.TempDir()
	dir, done, hold := filepath.Join(tmp, "table"), filepath.Join(tmp, "done"), filepath.Join(tmp, "readers-open")
	tb, err := openSTable(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := tb.Close(); err != nil {
		t.Fatal(err)
	}
	w := testproc.Start(t, "", "strings-writer", "PERSIST_TEST_DIR="+dir, seedEnv(s), "PERSIST_DONE_FILE="+done,
		"PERSIST_RUN_FOR_MS="+strconv.Itoa(int(d.Milliseconds())), "PERSIST_ROW_RATE="+strconv.Itoa(rate), "PERSIST_HOLD_FILE="+hold)
	open := expectLine(t, w, "open ", "writer", time.Minute)
	var readers []*testproc.Child
	for k, synced := range []bool{false, true} {
		env := []string{"PERSIST_TEST_DIR=" + dir, "PERSIST_DONE_FILE=" + done, seedEnv(s + uint64(k) + 1)}
		if synced {
			env = append(env, "PERSIST_SYNCED_ONLY=1")
		}
		readers = append(readers, testproc.Start(t, "", "strings-reader", env...))
	}
	for k, r := range readers {
		if l := expectLine(t, r, "open ", fmt.Sprintf("reader %d", k), time.Minute); !strings.HasSuffix(l, " "+table.SourcePublished.String()) {
			t.Fatalf("reader %d opened beside a running writer with %q, want its count from %s", k, l, table.SourcePublished)
		}
	}
	if err := os.WriteFile(hold, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	wl := finish(t, w, "writer", d+3*time.Minute)
	syncs := map[int]bool{lineInt(t, open, 2): true}
	for _, l := range wl {
		if strings.HasPrefix(l, "synced ") {
			syncs[lineInt(t, l, 1)] = true
		}
	}
	var st readerStats
	for k, r := range readers {
		lines := finish(t, r, fmt.Sprintf("reader %d", k), 3*time.Minute)
		st.add(t, lines[len(lines)-1])
		if k == 1 {
			for _, l := range lines {
				if strings.HasPrefix(l, "open ") || strings.HasPrefix(l, "n ") {
					if n := lineInt(t, l, 1); !syncs[n] {
						t.Fatalf("the SyncedOnly reader showed %d rows, a count no Sync of the writer returned", n)
					}
				}
			}
		}
	}
	st.record()
	t.Logf("%v: the writer appended %d rows in %d Syncs; readers: %v", d, lineInt(t, wl[len(wl)-1], 1), len(syncs), st)
}
