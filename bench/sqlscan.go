//go:build duckdb_arrow

package bench

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/mmapvec/persistence/interop/arrowtable"
	"github.com/mmapvec/persistence/interop/tablesql"
	"github.com/mmapvec/persistence/table"
)

// SQL over a live table through Arrow and through DuckDB's table functions
// (interop/tablesql's two routes) against DuckDB over its own table of the
// same rows.

// sqlRow is a row of the GROUP BY workloads.
type sqlRow struct {
	K int32
	X int64
	Y float64
}

// sqlGroups is the number of distinct K.
const sqlGroups = 1000

func makeSQLRows(from, n int) []sqlRow {
	rs := make([]sqlRow, n)
	for i := range rs {
		j := from + i
		rs[i] = sqlRow{K: int32(uint32(j*2654435761) % sqlGroups), X: int64(j), Y: float64(j%1000) / 4}
	}
	return rs
}

const sqlGroupBy = "SELECT K, sum(X), avg(Y) FROM t GROUP BY K"

// sqlScan is a table of n rows, open as a writer and as a reader beside it
// attached to a tablesql database, and optionally the same rows in a
// native DuckDB table.
type sqlScan struct {
	n      int
	dir    string
	w      *table.Table[sqlRow]
	r      *table.Table[table.Any]
	db     *tablesql.DB
	chunks *tablesql.DB // the chunk route's
	native *sql.DB
}

func openSQLScan(n int, native bool) (s *sqlScan, err error) {
	s = &sqlScan{n: n}
	defer func() {
		if err != nil {
			err = errors.Join(err, s.Close())
		}
	}()
	if s.dir, err = TempDir("sql"); err != nil {
		return s, err
	}
	path := filepath.Join(s.dir, "t")
	if s.w, err = table.Open[sqlRow](path, nil); err != nil {
		return s, err
	}
	const chunk = 1 << 20
	for from := 0; from < n; from += chunk {
		if err = s.w.AppendRows(makeSQLRows(from, min(chunk, n-from))); err != nil {
			return s, err
		}
	}
	if err = s.w.Sync(); err != nil {
		return s, err
	}
	if s.r, err = table.Open[table.Any](path, &table.Options{ReadOnly: true}); err != nil {
		return s, err
	}
	if s.db, err = tablesql.Open(nil); err != nil {
		return s, err
	}
	if err = s.db.Attach("t", s.r, nil); err != nil {
		return s, err
	}
	// The same table in batches of 64k rows whatever its size, to measure
	// what a batch costs.
	if err = s.db.Attach("t64k", s.r, &arrowtable.Options{MaxBatches: math.MaxInt32}); err != nil {
		return s, err
	}
	if native {
		if s.chunks, err = tablesql.OpenChunks(nil); err != nil {
			return s, err
		}
		if err = s.chunks.Attach("t", s.r, nil); err != nil {
			return s, err
		}
		err = s.loadNative()
	}
	return s, err
}

// loadNative copies the rows into an in-memory DuckDB table through its
// appender.
func (s *sqlScan) loadNative() error {
	var err error
	if s.native, err = sql.Open("duckdb", ""); err != nil {
		return err
	}
	s.native.SetMaxOpenConns(1) // one in-memory database, seen by every query
	if _, err := s.native.Exec(`CREATE TABLE t (K INTEGER, X BIGINT, Y DOUBLE)`); err != nil {
		return err
	}
	conn, err := s.native.Conn(context.Background())
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(c any) error {
		app, err := duckdb.NewAppenderFromConn(c.(driver.Conn), "", "t")
		if err != nil {
			return err
		}
		const chunk = 1 << 20
		for from := 0; from < s.n; from += chunk {
			for _, r := range makeSQLRows(from, min(chunk, s.n-from)) {
				if err := app.AppendRow(r.K, r.X, r.Y); err != nil {
					return errors.Join(err, app.Close())
				}
			}
		}
		return app.Close()
	})
}

// check reads a GROUP BY result: sqlGroups groups (fewer for a small n)
// whose sums add up to every X.
func (s *sqlScan) check(rows interface {
	Next() bool
	Scan(...any) error
	Err() error
}) error {
	groups, total := 0, int64(0)
	for rows.Next() {
		var k int32
		var sum int64
		var avg float64
		if err := rows.Scan(&k, &sum, &avg); err != nil {
			return err
		}
		groups++
		total += sum
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if want := int64(s.n) * int64(s.n-1) / 2; groups != min(s.n, sqlGroups) || total != want {
		return fmt.Errorf("%d groups summing to %d, want %d and %d", groups, total, min(s.n, sqlGroups), want)
	}
	return nil
}

// live runs the query over the live table.
func (s *sqlScan) live() error { return s.liveFrom("t") }

// live64k runs the query over the view read in 64k-row batches.
func (s *sqlScan) live64k() error { return s.liveFrom("t64k") }

// liveChunks runs the query over the live table through the chunk route.
func (s *sqlScan) liveChunks() error {
	rows, err := s.chunks.Query(context.Background(), sqlGroupBy)
	if err != nil {
		return err
	}
	return errors.Join(s.check(rows), rows.Close())
}

func (s *sqlScan) liveFrom(view string) error {
	rows, err := s.db.Query(context.Background(), strings.Replace(sqlGroupBy, "FROM t ", "FROM "+view+" ", 1))
	if err != nil {
		return err
	}
	return errors.Join(s.check(rows), rows.Close())
}

// nativeQuery runs the query over DuckDB's own table.
func (s *sqlScan) nativeQuery() error {
	rows, err := s.native.Query(sqlGroupBy)
	if err != nil {
		return err
	}
	return errors.Join(s.check(rows), rows.Close())
}

func (s *sqlScan) Close() error {
	var errs []error
	for _, c := range []interface{ Close() error }{s.native, s.chunks, s.db, s.r, s.w} {
		if c != nil && !isNil(c) {
			errs = append(errs, c.Close())
		}
	}
	if s.dir != "" {
		errs = append(errs, os.RemoveAll(s.dir))
	}
	return errors.Join(errs...)
}

func isNil(c interface{ Close() error }) bool {
	switch v := c.(type) {
	case *sql.DB:
		return v == nil
	case *tablesql.DB:
		return v == nil
	case *table.Table[table.Any]:
		return v == nil
	case *table.Table[sqlRow]:
		return v == nil
	}
	return false
}

const (
	sqlLib    = "tablesql: DuckDB over the live table through Arrow"
	sqlNative = "DuckDB over its own table"
	sqlChunks = "tablesql: DuckDB over the live table through its table function (chunk route)"
)

// SQLGroupByWorkload runs a GROUP BY over ScanRows rows: DuckDB scanning
// the table's mapped columns as Arrow batches against DuckDB scanning its
// own in-memory table of the same rows.
func SQLGroupByWorkload(c Config) *Workload {
	n := c.ScanRows
	var s *sqlScan
	return &Workload{
		Name: "SQL GROUP BY", Size: "rows=" + sizeName(n), Unit: PerRow, Lib: sqlLib,
		Notes: []string{"`" + sqlGroupBy + "` over rows of an int32 key (1000 groups), an int64 and a float64, both on DuckDB's default threads (2 here). " +
			"The live table is a reader beside the writer that appended the rows, attached to an in-memory DuckDB with interop/tablesql: each query takes the reader's count (a Refresh inside Consistent) " +
			"and DuckDB scans Arrow batches whose buffers are the column files' mappings (tablesql.Batches() of them: 16 here, of 1M rows at 16M rows). " +
			"DuckDB's own table holds the same rows, loaded with its appender before timing; its scan reads its compressed row groups with the optimizer's pushdowns on, " +
			"which tablesql turns off for its scans (an Arrow stream cannot apply them). " +
			"The chunk route (tablesql.OpenChunks, the route of a build without the duckdb_arrow tag) reads the same reader through a DuckDB table function that copies the columns the query reads (K, X, Y) into DuckDB's chunks of 2048 rows, on DuckDB's threads."},
		Setup: func() (err error) {
			s, err = openSQLScan(n, true)
			return err
		},
		Teardown: func() error { return s.Close() },
		Cases: []*Case{
			{Name: sqlLib, Units: float64(n), Run: func() error { return s.live() }},
			{Name: sqlChunks, Units: float64(n), Run: func() error { return s.liveChunks() }},
			{Name: sqlNative, Units: float64(n), Run: func() error { return s.nativeQuery() }},
		},
		Goals: []Goal{FasterThan("GROUP BY over the live table ≥ 0.5x DuckDB's own table", sqlNative, 0.5)},
	}
}

// allocated returns the Go heap bytes f allocates, and those still
// allocated after it once collected.
func allocated(f func() error) (alloc, kept float64, err error) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	err = f()
	runtime.ReadMemStats(&after)
	alloc = float64(after.TotalAlloc - before.TotalAlloc)
	runtime.GC()
	runtime.ReadMemStats(&after)
	return alloc, float64(after.HeapAlloc) - float64(before.HeapAlloc), err
}

// SQLHeapWorkload measures the Go heap a query over a live table
// allocates, at ScanRows rows and at an eighth of them.
func SQLHeapWorkload(c Config) *Workload {
	big, small := c.ScanRows, max(c.ScanRows/8, 1)
	var sb, ss *sqlScan
	batches64k := func(n int) int { return (n + arrowtable.DefaultBatchRows - 1) / arrowtable.DefaultBatchRows }
	batches := func(n int) int { return min(batches64k(n), tablesql.Batches()) }
	perQuery := func(s **sqlScan) func() (float64, error) {
		return func() (float64, error) {
			a, _, err := allocated(func() error { return (*s).live() })
			return a, err
		}
	}
	perBatch := func() (float64, error) {
		a, _, err := allocated(sb.live64k)
		if err != nil {
			return 0, err
		}
		b, _, err := allocated(ss.live64k)
		if d := batches64k(big) - batches64k(small); d > 0 {
			return (a - b) / float64(d), err
		}
		return 0, err
	}
	kept := func() (float64, error) {
		_, k, err := allocated(sb.live)
		return k, err
	}
	bigName, smallName := "rows="+sizeName(big), "rows="+sizeName(small)
	lib := "Go heap allocated per query, " + bigName
	smallCase := "Go heap allocated per query, " + smallName
	columns := float64(big) * 16 // K, X and Y
	return &Workload{
		Name: "SQL bridge heap", Size: bigName + ", " + smallName, Unit: Bytes, Lib: lib, Reps: 3, FiguresOnly: true,
		Notes: []string{"The Go heap that one `" + sqlGroupBy + "` over the live table allocates (runtime.MemStats.TotalAlloc) at two table sizes, " +
			"what each more Arrow batch adds (read in batches of 64k rows: the difference of the two over the difference of their batch counts), " +
			"and what is still allocated after the query and a collection; against it, what the same query over DuckDB's own table allocates (database/sql reading the 1000 result rows, most of the fixed part). " +
			"The columns are shared with the mapping, so no row is copied: a query allocates a fixed part (the views' registration, the query, its result) " +
			"and, per batch, only the batch's Arrow arrays and their C-interface export, whatever the rows hold; tablesql reads such a table in at most tablesql.Batches() batches (16 here), " +
			"so past 1M rows the batch count, and with it the heap, no longer grows with the rows. " +
			"DuckDB's own memory (its hash table, its vectors) is C++'s, not Go's, and is not counted."},
		Setup: func() (err error) {
			if sb, err = openSQLScan(big, false); err != nil {
				return err
			}
			ss, err = openSQLScan(small, true)
			return err
		},
		Teardown: func() error {
			var errs []error
			for _, s := range []*sqlScan{sb, ss} {
				if s != nil {
					errs = append(errs, s.Close())
				}
			}
			return errors.Join(errs...)
		},
		Cases: []*Case{
			{Name: lib, Probe: perQuery(&sb)},
			{Name: smallCase, Probe: perQuery(&ss)},
			{Name: "Go heap allocated per more 64k-row batch", Probe: perBatch},
			{Name: "Go heap kept after the query, " + bigName, Probe: kept},
			{Name: "Go heap per query of DuckDB's own table, " + smallName, Probe: func() (float64, error) {
				a, _, err := allocated(ss.nativeQuery)
				return a, err
			}},
		},
		Goals: []Goal{
			{
				Text: "no row copied: Go heap per query ≤ 1% of the columns' bytes at " + sizeName(big),
				Eval: func(r *Result) (string, bool) {
					a := r.Median(lib)
					return fmt.Sprintf("%s for %s of columns (%.2f%%)", iec(a), iec(columns), 100*a/columns), a <= columns/100
				},
			},
			{
				Text: "Go heap per query independent of the row count (within 1.25x at " + sizeName(big) + " and " + sizeName(small) + ")",
				Eval: func(r *Result) (string, bool) {
					a, b := r.Median(lib), r.Median(smallCase)
					return fmt.Sprintf("%s at %s, %s at %s: %.2fx for %dx the batches", iec(a), sizeName(big), iec(b), sizeName(small), a/b, batches(big)/max(batches(small), 1)), a <= 1.25*b
				},
			},
		},
	}
}

func sqlWorkloads(c Config) []*Workload {
	return []*Workload{SQLGroupByWorkload(c), SQLHeapWorkload(c)}
}
