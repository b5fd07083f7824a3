//go:build duckdb_arrow

package tablesql_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/mmapvec/persistence/interop/arrowtable"
	"github.com/mmapvec/persistence/interop/tablesql"
	"github.com/mmapvec/persistence/table"
)

// Queries that DuckDB would push columns and filters down into its scan
// of a table: the results equal Go loops over the rows.
func TestQueries(t *testing.T) {
	rng := rand.New(rand.NewPCG(seed(t), 2))
	dir := t.TempDir() + "/events"
	w, err := table.Open[event](dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	rows := make([]event, 5000)
	for i := range rows {
		rows[i] = makeEvent(rng, i)
	}
	if err := w.AppendRows(rows); err != nil {
		t.Fatal(err)
	}
	db := open(t)
	opts := &arrowtable.Options{BatchRows: 512}
	if err := db.Attach("events", w, opts); err != nil {
		t.Fatal(err)
	}
	if err := db.Attach("again", w, opts); err != nil {
		t.Fatal(err)
	}
	count := func(keep func(e event) bool) string {
		n := 0
		for _, e := range rows {
			if keep(e) {
				n++
			}
		}
		return fmt.Sprint(n)
	}
	sum := func(f func(e event) float64) string {
		s := 0.0
		for _, e := range rows {
			s += f(e)
		}
		return fmt.Sprint(s)
	}
	for _, tc := range []struct{ query, want string }{
		{"SELECT count(*) FROM events", fmt.Sprint(len(rows))},
		{"SELECT sum(Duration) FROM events", sum(func(e event) float64 { return e.Duration })},
		{"SELECT count(*) FROM events WHERE TS < 10", "10"},
		{"SELECT count(*) FROM events WHERE Country = 'DE'", count(func(e event) bool { return e.Country == "DE" })},
		{"SELECT sum(Duration) FROM events WHERE Country = 'FR' AND OK", sum(func(e event) float64 {
			if e.Country == "FR" && e.OK {
				return e.Duration
			}
			return 0
		})},
		{"SELECT URL FROM events WHERE TS = 4321", rows[4321].URL},
		{"SELECT Pos[1] FROM events WHERE TS = 77", fmt.Sprint(rows[77].Pos[0])},
		{"SELECT max(TS) FROM (SELECT * FROM events ORDER BY TS LIMIT 3)", "2"},
		{"SELECT count(*) FROM events WHERE URL LIKE '/p/1%'", count(func(e event) bool { return len(e.URL) > 3 && e.URL[3] == '1' })},
		{"SELECT count(*) FROM events a JOIN again b USING (TS)", fmt.Sprint(len(rows))},
		{"SELECT count(*) FROM events a, (SELECT 5 AS k) b WHERE a.TS = b.k", "1"},
		{"WITH e AS MATERIALIZED (SELECT * FROM events) SELECT count(*) FROM e a JOIN e b USING (TS)", fmt.Sprint(len(rows))},
	} {
		res, err := db.Query(context.Background(), tc.query)
		if err != nil {
			t.Fatalf("%s: %v", tc.query, err)
		}
		var got any
		if !res.Next() {
			t.Fatalf("%s: no row (%v)", tc.query, res.Err())
		}
		if err := res.Scan(&got); err != nil {
			t.Fatal(err)
		}
		res.Close()
		if fmt.Sprint(got) != tc.want {
			t.Errorf("%s: %v, want %s", tc.query, got, tc.want)
		}
	}

	// A query that reads a table twice fails rather than see no rows the
	// second time.
	for _, q := range []string{
		"SELECT count(*) FROM events a JOIN events b USING (TS)",
		"SELECT (SELECT count(*) FROM events) + (SELECT count(*) FROM events WHERE OK)",
	} {
		res, err := db.Query(context.Background(), q)
		if err == nil {
			for res.Next() {
			}
			err = res.Err()
			res.Close()
		}
		if !errors.Is(err, tablesql.ErrScannedTwice) {
			t.Errorf("%s: %v, want ErrScannedTwice", q, err)
		}
	}
	// The database still answers.
	res, err := db.Query(context.Background(), "SELECT list(DISTINCT Country ORDER BY Country) FROM events")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	var got any
	if !res.Next() || res.Scan(&got) != nil {
		t.Fatal(res.Err())
	}
	want := []string{}
	for _, c := range countries {
		want = append(want, string(c))
	}
	slices.Sort(want)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("countries %v, want %v", got, want)
	}
}

// QueryArrow gives a result as Arrow batches; Exec runs a statement over
// the tables, here one that copies them into a DuckDB table.
func TestQueryArrowAndExec(t *testing.T) {
	rng := rand.New(rand.NewPCG(seed(t), 3))
	dir := t.TempDir() + "/events"
	w, err := table.Open[event](dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	rows := make([]event, 3000)
	for i := range rows {
		rows[i] = makeEvent(rng, i)
	}
	if err := w.AppendRows(rows); err != nil {
		t.Fatal(err)
	}
	db := open(t)
	if err := db.Attach("events", w, nil); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rr, err := db.QueryArrow(ctx, "SELECT TS, URL FROM events WHERE TS % 2 = 0 ORDER BY TS")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Query(ctx, "SELECT 1"); !errors.Is(err, tablesql.ErrBusy) {
		t.Fatalf("a query while an Arrow result is open: %v", err)
	}
	n := 0
	for rr.Next() {
		rec := rr.RecordBatch()
		ts := rec.Column(0).(*array.Int64)
		url := rec.Column(1).(*array.String)
		for j := range int(rec.NumRows()) {
			want := rows[2*n]
			if ts.Value(j) != want.TS || url.Value(j) != want.URL {
				t.Fatalf("result row %d: %d %q, want %d %q", n, ts.Value(j), url.Value(j), want.TS, want.URL)
			}
			n++
		}
	}
	if err := rr.Err(); err != nil {
		t.Fatal(err)
	}
	rr.Release()
	if n != len(rows)/2 {
		t.Fatalf("%d result rows, want %d", n, len(rows)/2)
	}

	if _, err := db.Exec(ctx, "CREATE TABLE copy AS SELECT * FROM events"); err != nil {
		t.Fatal(err)
	}
	res, err := db.Query(ctx, "SELECT count(*), sum(TS) FROM copy")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	var count, sum int64
	if !res.Next() || res.Scan(&count, &sum) != nil {
		t.Fatal(res.Err())
	}
	if count != int64(len(rows)) || sum != int64(len(rows))*int64(len(rows)-1)/2 {
		t.Fatalf("the copy: %d rows summing to %d", count, sum)
	}
}

// Open passes its configuration to DuckDB.
func TestOpenConfig(t *testing.T) {
	db, err := tablesql.Open(map[string]string{"threads": "1", "memory_limit": "256MB"})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	res, err := db.Query(context.Background(), "SELECT current_setting('threads'), current_setting('memory_limit')")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	var threads int64
	var limit string
	if !res.Next() || res.Scan(&threads, &limit) != nil {
		t.Fatal(res.Err())
	}
	if threads != 1 || limit == "" {
		t.Fatalf("threads %d, memory_limit %q", threads, limit)
	}
	if _, err := tablesql.Open(map[string]string{"no_such_setting": "1"}); err == nil {
		t.Fatal("an unknown setting: no error")
	}
}
