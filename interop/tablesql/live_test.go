//go:build duckdb_arrow

package tablesql_test

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mmapvec/persistence/internal/testproc"
	"github.com/mmapvec/persistence/interop/arrowtable"
	"github.com/mmapvec/persistence/table"
)

// maxLiveRows bounds what the writer appends if the queries are slow.
const maxLiveRows = 400_000

// liveWriter is the child of TestLiveQuery: it appends the rows of its
// seed, in batches of random size, until the stop file exists.
func liveWriter(t *testing.T) {
	s, _ := strconv.ParseUint(os.Getenv("LIVE_SEED"), 10, 64)
	dir := os.Getenv("LIVE_DIR")
	rng := rand.New(rand.NewPCG(s, 1))
	batch := rand.New(rand.NewPCG(s, 2))
	w, err := table.Open[event](dir, nil)
	if err != nil {
		testproc.Say("error %v", err)
		return
	}
	defer w.Close()
	testproc.Say("open")
	n := 0
	for n < maxLiveRows {
		if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "stop")); err == nil {
			break
		}
		rows := make([]event, 1+batch.IntN(200))
		for i := range rows {
			rows[i] = makeEvent(rng, n+i)
		}
		if err := w.AppendRows(rows); err != nil {
			testproc.Say("error %v", err)
			return
		}
		n += len(rows)
		time.Sleep(time.Millisecond) // so that the queries overlap many appends, not the bound
	}
	testproc.Say("stopped %d", n)
}

// SQL over a table that another process appends to: every query's result
// is that of a prefix of the rows the writer appends, as a Go loop
// computes it, and the prefixes grow.
func TestLiveQuery(t *testing.T) {
	if testproc.Role() == "live-writer" {
		liveWriter(t)
		return
	}
	s := seed(t)
	dir := filepath.Join(t.TempDir(), "events")
	c := testproc.Start(t, "TestLiveQuery", "live-writer", "LIVE_SEED="+strconv.FormatUint(s, 10), "LIVE_DIR="+dir)
	c.Expect(t, "open", time.Minute)

	// The rows the writer appends, and prefix sums over them.
	rng := rand.New(rand.NewPCG(s, 1))
	var rows []event
	sumTS, sumDur := []int64{0}, []float64{0}
	rowsTo := func(n int) {
		for len(rows) < n {
			e := makeEvent(rng, len(rows))
			rows = append(rows, e)
			sumTS = append(sumTS, sumTS[len(sumTS)-1]+e.TS)
			sumDur = append(sumDur, sumDur[len(sumDur)-1]+e.Duration)
		}
	}

	r, err := table.Open[table.Any](dir, &table.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	db := open(t)
	if err := db.Attach("events", r, &arrowtable.Options{BatchRows: 4096}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	last, seen := int64(-1), 0
	check := func() int64 {
		t.Helper()
		var n, ts int64
		var dur float64
		res, err := db.Query(ctx, "SELECT count(*), coalesce(sum(TS), 0), coalesce(sum(Duration), 0) FROM events")
		if err != nil {
			t.Fatal(err)
		}
		if !res.Next() {
			t.Fatal(res.Err())
		}
		if err := res.Scan(&n, &ts, &dur); err != nil {
			t.Fatal(err)
		}
		res.Close()
		rowsTo(int(n))
		if ts != sumTS[n] || dur != sumDur[n] {
			t.Fatalf("count %d: sum(TS) %d, sum(Duration) %v; the first %d rows sum to %d, %v", n, ts, dur, n, sumTS[n], sumDur[n])
		}
		if n < last {
			t.Fatalf("count %d after %d", n, last)
		}
		if n != last {
			seen++
		}
		last = n

		// A GROUP BY ALL, as one state too: its groups add up to a
		// prefix, and each equals the Go loop over that prefix.
		res, err = db.Query(ctx, "SELECT Country, count(*), avg(Duration) FROM events GROUP BY ALL")
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]agg{}
		total := int64(0)
		for res.Next() {
			var country string
			var k int64
			var avg float64
			if err := res.Scan(&country, &k, &avg); err != nil {
				t.Fatal(err)
			}
			got[country] = agg{k, avg * float64(k)}
			total += k
		}
		if err := res.Err(); err != nil {
			t.Fatal(err)
		}
		res.Close()
		rowsTo(int(total))
		want := aggregate(rows[:total])
		if len(got) != len(want) {
			t.Fatalf("%d groups over %d rows, want %d", len(got), total, len(want))
		}
		for k, a := range want {
			g := got[k]
			if g.n != a.n || abs(g.sum-a.sum) > 1e-9*a.sum {
				t.Fatalf("group %q over %d rows: count %d, sum %v; want %d, %v", k, total, g.n, g.sum, a.n, a.sum)
			}
		}
		return n
	}
	queries := 0
	for range 15 {
		if ended := c.WaitFor(0, func(lines []string) bool { return len(lines) > 1 }); ended {
			break // the writer stopped (at its bound, or on an error)
		}
		check()
		queries += 2
	}
	if err := os.WriteFile(filepath.Join(filepath.Dir(dir), "stop"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	line := c.Expect(t, "stopped", time.Minute)
	for _, l := range c.Lines() {
		if strings.HasPrefix(l, "error") {
			t.Fatalf("writer: %s", l)
		}
	}
	total, err := strconv.ParseInt(strings.TrimPrefix(line, "stopped "), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	if c.Wait() != 0 {
		t.Fatalf("writer exited with %d: %s", c.Wait(), c.Stderr())
	}
	// The last query sees every row.
	if n := check(); n != total {
		t.Fatalf("after the writer stopped: count %d, want %d", n, total)
	}
	t.Logf("%d queries while the writer appended saw %d distinct prefixes; it stopped at %d rows", queries, seen, total)
}

func abs(x float64) float64 { return max(x, -x) }
