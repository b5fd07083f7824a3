//go:build duckdb_arrow

package tablesql_test

import (
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/mmapvec/persistence/interop/tablesql"
	"github.com/mmapvec/persistence/table"
)

// The chunk route gives the results of the Arrow route: the same DuckDB
// types for each column, the same GROUP BY results.
func TestChunksMatchArrow(t *testing.T) {
	k, err := table.Open[kinds](t.TempDir()+"/k", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	rows := make([]kinds, 3000)
	for i := range rows {
		rows[i] = kindsRow(i)
	}
	if err := k.AppendRows(rows); err != nil {
		t.Fatal(err)
	}
	v := visitTable(t, 20000)
	arrowDB, chunkDB := open(t), openChunks(t)
	for _, db := range []*tablesql.DB{arrowDB, chunkDB} {
		if err := db.Attach("k", k, nil); err != nil {
			t.Fatal(err)
		}
		if err := db.Attach("v", v, nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []string{
		`SELECT string_agg(c || ' ' || t, ', ') FROM (SELECT column_name AS c, column_type AS t FROM (DESCRIBE k))`,
		`SELECT sum(I8), sum(I16), sum(I32), sum(U8), sum(U16), sum(U32), sum(U64)::VARCHAR, sum(Int), sum(Uint)::VARCHAR, sum(F32), sum(F64), count(*) FILTER (OK),
			sum(P.B), sum(Hist[2]), sum(M[2][1]), sum(Pairs[1].B), sum(octet_length(Raw)), sum(Z.real), sum(C64.imag), sum(Q.Y[2].B), string_agg(Q.Tag::VARCHAR, '' ORDER BY Row)[1:40], md5(string_agg(ID::VARCHAR, '' ORDER BY Row)),
			md5(string_agg(Name || Sym, ',' ORDER BY Row)) FROM k`,
		`SELECT list(c ORDER BY c) FROM (SELECT Country || ' ' || count(*) || ' ' || sum(Duration) || ' ' || count(DISTINCT URL) || ' ' || count(*) FILTER (OK) AS c FROM v GROUP BY Country)`,
		`SELECT list(c ORDER BY c) FROM (SELECT URL || ' ' || avg(Duration) || ' ' || max(TS) AS c FROM v WHERE TS % 5 = 1 GROUP BY URL)`,
	} {
		want, err := queryOne(t, arrowDB, q)
		if err != nil {
			t.Fatalf("%s: Arrow route: %v", q, err)
		}
		got, err := queryOne(t, chunkDB, q)
		if err != nil {
			t.Fatalf("%s: chunk route: %v", q, err)
		}
		if got != want {
			t.Errorf("%s:\nchunk route %s\nArrow route %s", q, got, want)
		}
	}

	// QueryArrow gives the chunk route's results as Arrow batches.
	rr, err := chunkDB.QueryArrow(context.Background(), "SELECT TS, URL FROM v WHERE TS % 1000 = 0 ORDER BY TS")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rr.Next() {
		rec := rr.RecordBatch()
		ts, url := rec.Column(0).(*array.Int64), rec.Column(1).(*array.String)
		for j := range int(rec.NumRows()) {
			if want := visitRow(n * 1000); ts.Value(j) != want.TS || url.Value(j) != want.URL {
				t.Fatalf("result row %d: %d %q, want %d %q", n, ts.Value(j), url.Value(j), want.TS, want.URL)
			}
			n++
		}
	}
	if err := rr.Err(); err != nil {
		t.Fatal(err)
	}
	rr.Release()
	if n != 20 {
		t.Fatalf("%d result rows, want 20", n)
	}
}
