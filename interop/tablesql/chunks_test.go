package tablesql_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/mmapvec/persistence/interop/arrowtable"
	"github.com/mmapvec/persistence/interop/tablesql"
	"github.com/mmapvec/persistence/table"
)

type visit struct {
	TS       int64
	Country  table.Symbol
	Duration float64
	URL      string
	OK       bool
}

// visitRow is row i of the tables of these tests.
func visitRow(i int) visit {
	return visit{
		TS:       int64(i),
		Country:  table.Symbol([]string{"DE", "FR", "", "US"}[i*7%4]),
		Duration: float64(i * 13 % 1000), // whole numbers: sums in any order are exact
		URL:      fmt.Sprintf("/p/%d", i%37),
		OK:       i%3 == 0,
	}
}

func visitTable(t *testing.T, n int) *table.Table[visit] {
	t.Helper()
	w, err := table.Open[visit](t.TempDir()+"/v", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	rows := make([]visit, n)
	for i := range rows {
		rows[i] = visitRow(i)
	}
	if err := w.AppendRows(rows); err != nil {
		t.Fatal(err)
	}
	return w
}

// probe is a table that records the columns scans read, and fails them
// with fail when it is set.
type probe struct {
	arrowtable.Table
	mu   sync.Mutex
	read map[string]int
	fail error
}

func (p *probe) Memory(col string, rows int) (table.ColumnMemory, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if rows > 0 {
		p.read[col]++
		if p.fail != nil {
			return table.ColumnMemory{}, p.fail
		}
	}
	return p.Table.Memory(col, rows)
}

func (p *probe) columns() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var cols []string
	for c := range p.read {
		cols = append(cols, c)
	}
	slices.Sort(cols)
	clear(p.read)
	return cols
}

// queryOne runs a query of one row and returns its values as text.
func queryOne(t *testing.T, db *tablesql.DB, q string) (string, error) {
	t.Helper()
	res, err := db.Query(context.Background(), q)
	if err != nil {
		return "", err
	}
	defer res.Close()
	vals, err := firstRow(res)
	if err != nil {
		return "", err
	}
	if err := res.Close(); err != nil {
		return "", err
	}
	return strings.Trim(fmt.Sprint(vals), "[]"), res.Err()
}

func mustQueryOne(t *testing.T, db *tablesql.DB, q, want string) {
	t.Helper()
	got, err := queryOne(t, db, q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	if got != want {
		t.Fatalf("%s: %s, want %s", q, got, want)
	}
}

// A scan reads only the columns its query needs; a query may read a table
// twice (a self-join, two subqueries), each scan of the same rows.
func TestChunkProjectionAndSelfJoin(t *testing.T) {
	const n = 7000
	p := &probe{Table: visitTable(t, n), read: map[string]int{}}
	db := openChunks(t)
	if err := db.Attach("v", p, nil); err != nil {
		t.Fatal(err)
	}
	var sumTS, okDur int64
	for i := range n {
		v := visitRow(i)
		sumTS += v.TS
		if v.OK {
			okDur += int64(v.Duration)
		}
	}
	p.columns()
	mustQueryOne(t, db, "SELECT sum(TS) FROM v", fmt.Sprint(sumTS))
	if got := p.columns(); fmt.Sprint(got) != "[TS]" {
		t.Errorf("sum(TS) read the columns %v", got)
	}
	mustQueryOne(t, db, "SELECT sum(Duration)::BIGINT FROM v WHERE OK", fmt.Sprint(okDur))
	if got := p.columns(); fmt.Sprint(got) != "[Duration OK]" {
		t.Errorf("sum(Duration) WHERE OK read the columns %v", got)
	}
	mustQueryOne(t, db, "SELECT count(*) FROM v a JOIN v b USING (TS)", fmt.Sprint(n))
	mustQueryOne(t, db, "SELECT (SELECT count(*) FROM v) + (SELECT count(*) FROM v WHERE OK)", fmt.Sprint(n+(n+2)/3))
	mustQueryOne(t, db, "SELECT count(*) FROM v a JOIN v b ON a.TS = b.TS + 1 WHERE a.URL = b.URL", "0")

	// Attaching a name again with other columns remakes its view.
	if err := db.Attach("v", p, &arrowtable.Options{Columns: []string{"URL", "TS"}}); err != nil {
		t.Fatal(err)
	}
	mustQueryOne(t, db, "SELECT * FROM v WHERE TS = 40", "/p/3 40")
	if err := db.Attach("v", p, nil); err != nil {
		t.Fatal(err)
	}
	mustQueryOne(t, db, "SELECT * FROM v WHERE TS = 40", fmt.Sprint(strings.Trim(fmt.Sprint([]any{40, "DE", 520, "/p/3", false}), "[]")))
}

// A scan's errors reach the caller as what they are; a query while a
// result is open is ErrBusy; after Close, ErrClosed.
func TestChunkErrors(t *testing.T) {
	p := &probe{Table: visitTable(t, 5000), read: map[string]int{}}
	db := openChunks(t)
	if err := db.Attach("v", p, nil); err != nil {
		t.Fatal(err)
	}
	errInjected := errors.New("injected")
	for _, tc := range []struct{ fail, want error }{
		{errInjected, errInjected},
		{table.ErrRange, arrowtable.ErrShrunk},
	} {
		p.fail = tc.fail
		_, err := queryOne(t, db, "SELECT sum(Duration) FROM v")
		if !errors.Is(err, tc.want) {
			t.Errorf("a scan failing with %v: %v, want %v", tc.fail, err, tc.want)
		}
		_, err = db.Exec(context.Background(), "CREATE TABLE c AS SELECT * FROM v")
		if !errors.Is(err, tc.want) {
			t.Errorf("Exec of a scan failing with %v: %v, want %v", tc.fail, err, tc.want)
		}
	}
	p.fail = nil
	mustQueryOne(t, db, "SELECT count(*) FROM v", "5000")
	if _, err := queryOne(t, db, "SELECT * FROM tablesql_scan('nope')"); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("a scan of no attached table: %v", err)
	}

	res, err := db.Query(context.Background(), "SELECT TS FROM v")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Query(context.Background(), "SELECT 1"); !errors.Is(err, tablesql.ErrBusy) {
		t.Errorf("a query while a result is open: %v", err)
	}
	if _, err := db.Exec(context.Background(), "SELECT 1"); !errors.Is(err, tablesql.ErrBusy) {
		t.Errorf("Exec while a result is open: %v", err)
	}
	if !res.Next() {
		t.Fatal(res.Err())
	}
	// Close closes the open result rather than wait for it.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	res.Close()
	if _, err := db.Query(context.Background(), "SELECT 1"); !errors.Is(err, tablesql.ErrClosed) {
		t.Errorf("a query after Close: %v", err)
	}
	if err := db.Attach("w", p, nil); !errors.Is(err, tablesql.ErrClosed) {
		t.Errorf("Attach after Close: %v", err)
	}
}

// SQL over a table another goroutine appends to, through a reader of it:
// each query's results are those of a prefix of the rows, as a Go loop
// over that prefix gives them, and the prefixes grow.
func TestChunkLive(t *testing.T) {
	rng := rand.New(rand.NewPCG(seed(t), 1))
	dir := t.TempDir() + "/v"
	w, err := table.Open[visit](dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	r, err := table.Open[table.Any](dir, &table.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	db := openChunks(t)
	if err := db.Attach("v", r, nil); err != nil {
		t.Fatal(err)
	}

	const maxRows = 100_000
	sumTS, sumDur := make([]int, maxRows+1), make([]int, maxRows+1)
	for i := range maxRows {
		sumTS[i+1] = sumTS[i] + i
		sumDur[i+1] = sumDur[i] + int(visitRow(i).Duration)
	}
	sizes := make([]int, 0, 4096)
	for range cap(sizes) {
		sizes = append(sizes, 1+rng.IntN(300))
	}
	stop := make(chan struct{})
	type result struct {
		n   int
		err error
	}
	written := make(chan result, 1)
	go func() {
		n := 0
		for _, k := range sizes {
			select {
			case <-stop:
				written <- result{n, nil}
				return
			default:
			}
			rows := make([]visit, min(k, maxRows-n))
			for j := range rows {
				rows[j] = visitRow(n + j)
			}
			if err := w.AppendRows(rows); err != nil {
				written <- result{n, err}
				return
			}
			n += len(rows)
		}
		written <- result{n, nil}
	}()

	last, prefixes := -1, 0
	for range 12 {
		got, err := queryOne(t, db, "SELECT count(*), coalesce(sum(TS), 0), coalesce(sum(Duration), 0)::BIGINT, count(DISTINCT URL) FROM v")
		if err != nil {
			t.Fatal(err)
		}
		var n, ts, dur, urls int
		if _, err := fmt.Sscan(got, &n, &ts, &dur, &urls); err != nil {
			t.Fatal(err)
		}
		wantTS, wantDur := sumTS[n], sumDur[n]
		if ts != wantTS || dur != wantDur || urls != min(n, 37) {
			t.Fatalf("over %d rows: sum(TS) %d, sum(Duration) %d, %d URLs; want %d, %d, %d", n, ts, dur, urls, wantTS, wantDur, min(n, 37))
		}
		if n < last {
			t.Fatalf("%d rows after %d", n, last)
		}
		if n != last {
			prefixes++
		}
		last = n
	}
	close(stop)
	res := <-written
	if res.err != nil {
		t.Fatal(res.err)
	}
	total := res.n
	mustQueryOne(t, db, "SELECT count(*), max(TS) FROM v", fmt.Sprint(total, " ", total-1))
	t.Logf("12 queries saw %d prefixes, the last of %d rows", prefixes, last)
}

// TestAttachNameIgnoresCase checks that attaching "T" replaces "t", as
// DuckDB's names ignore case, instead of keeping two views of one name.
func TestAttachNameIgnoresCase(t *testing.T) {
	db, err := tablesql.OpenChunks(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Attach("t", visitTable(t, 10), nil); err != nil {
		t.Fatal(err)
	}
	if err := db.Attach("T", visitTable(t, 25), nil); err != nil {
		t.Fatal(err)
	}
	mustQueryOne(t, db, "SELECT count(*) FROM t", "25")
	mustQueryOne(t, db, "SELECT count(*) FROM T", "25")
}
