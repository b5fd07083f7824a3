//go:build duckdb_arrow

package tablesql_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

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
