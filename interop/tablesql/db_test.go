//go:build duckdb_arrow

package tablesql_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/mmapvec/persistence/interop/tablesql"
	"github.com/mmapvec/persistence/table"
)

type event struct {
	TS       int64
	Country  table.Symbol
	Duration float64
	URL      string
	Pos      [3]float32
	OK       bool
}

var countries = []table.Symbol{"DE", "FR", "US", "", "JP"}

func makeEvent(rng *rand.Rand, i int) event {
	return event{
		TS:       int64(i),
		Country:  countries[rng.IntN(len(countries))],
		Duration: float64(rng.IntN(10000)), // whole numbers: sums in any order are exact
		URL:      fmt.Sprintf("/p/%d", rng.IntN(100)),
		Pos:      [3]float32{float32(i), 1, 2},
		OK:       i%3 == 0,
	}
}

type agg struct {
	n   int64
	sum float64
}

func aggregate(rows []event) map[string]agg {
	m := map[string]agg{}
	for _, r := range rows {
		a := m[string(r.Country)]
		a.n++
		a.sum += r.Duration
		m[string(r.Country)] = a
	}
	return m
}

// open opens a database of the Arrow route (openChunks, one of the chunk
// route).
func open(t *testing.T) *tablesql.DB { return openWith(t, tablesql.Open) }

// A GROUP BY over a table equals the same aggregates computed in Go.
func TestGroupBy(t *testing.T) {
	rng := rand.New(rand.NewPCG(seed(t), 1))
	dir := t.TempDir() + "/events"
	w, err := table.Open[event](dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	rows := make([]event, 30000)
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
	res, err := db.Query(context.Background(), "SELECT Country, count(*), sum(Duration), sum(TS), sum(len(URL)), sum(Pos[1]), count(*) FILTER (OK) FROM events GROUP BY ALL ORDER BY ALL")
	if err != nil {
		t.Fatal(err)
	}
	want := aggregate(rows)
	got := 0
	for res.Next() {
		var (
			country            string
			n, sumTS, urls, ok int64
			sum, pos           float64
		)
		if err := res.Scan(&country, &n, &sum, &sumTS, &urls, &pos, &ok); err != nil {
			t.Fatal(err)
		}
		a := want[country]
		if n != a.n || math.Abs(sum-a.sum) > 1e-6*math.Abs(a.sum) {
			t.Errorf("%q: count %d, sum %v; want %d, %v", country, n, sum, a.n, a.sum)
		}
		var wantTS, wantURLs, wantOK int64
		var wantPos float64
		for _, r := range rows {
			if string(r.Country) == country {
				wantTS += r.TS
				wantURLs += int64(len(r.URL))
				wantPos += float64(r.Pos[0])
				if r.OK {
					wantOK++
				}
			}
		}
		if sumTS != wantTS || urls != wantURLs || pos != wantPos || ok != wantOK {
			t.Errorf("%q: sum(TS) %d, sum(len(URL)) %d, sum(Pos[1]) %v, OK %d; want %d, %d, %v, %d", country, sumTS, urls, pos, ok, wantTS, wantURLs, wantPos, wantOK)
		}
		got++
	}
	if err := res.Err(); err != nil {
		t.Fatal(err)
	}
	if err := res.Close(); err != nil {
		t.Fatal(err)
	}
	if got != len(want) {
		t.Fatalf("%d groups, want %d", got, len(want))
	}

	// Rows appended since are in the next query.
	more := makeEvent(rng, len(rows))
	if err := w.Append(more); err != nil {
		t.Fatal(err)
	}
	var n int64
	r2, err := db.Query(context.Background(), "SELECT count(*) FROM events")
	if err != nil {
		t.Fatal(err)
	}
	if !r2.Next() || r2.Scan(&n) != nil || n != int64(len(rows)+1) {
		t.Fatalf("count %d, want %d (%v)", n, len(rows)+1, r2.Err())
	}
	if _, err := db.Query(context.Background(), "SELECT 1"); err != tablesql.ErrBusy {
		t.Fatalf("a query while a result is open: %v", err)
	}
	r2.Close()
}
