// Package tablesql runs SQL over live tables with DuckDB, through Arrow:
// DuckDB scans each table's columns where they lie (package arrowtable),
// without copying the rows into a DuckDB table first.
//
//	db, _ := tablesql.Open(nil) // an in-memory DuckDB
//	defer db.Close()
//	events, _ := table.Open[table.Any](dir, &table.Options{ReadOnly: true})
//	db.Attach("events", events, nil)
//	rows, _ := db.Query(ctx, `SELECT country, count(*), avg(duration) FROM events GROUP BY ALL`)
//	defer rows.Close()
//
// Each query reads each attached table as it is when the query starts:
// for a reader beside a writer, the rows the writer published last, as
// one state of the table (arrowtable.NewReader). So the results of a
// query over a table another process appends to are those of a prefix of
// its rows, and the next query sees the rows appended since. Tables
// attached together are read one after the other, each as one state.
//
// The package is built only with the duckdb_arrow build tag, which
// duckdb-go's Arrow interface needs:
//
//	go build -tags duckdb_arrow
//	go test -tags duckdb_arrow ./...
//
// # Caveats
//
//   - One query at a time: close a query's rows (or release its Arrow
//     reader) before the next, which fails with [ErrBusy] until then, and
//     before [DB.Close].
//     While a query runs, DuckDB's threads read the attached tables: use
//     them from no other goroutine until its rows are closed.
//   - A query reads each attached table once, as one stream of batches: a
//     query that reads one twice (a self-join, a subquery over it beside
//     the main one) fails with [ErrScannedTwice]. Attach the table under a
//     second name, or read it through WITH x AS MATERIALIZED (...).
//   - DuckDB's Arrow scan would push the columns and filters a query
//     needs into a stream that cannot apply them; the database turns
//     those optimizations off (DuckDB's filter_pushdown, unused_columns
//     and join_filter_pushdown), so each scan reads every column of its
//     table: attach only the columns the queries need
//     (arrowtable.Options.Columns) when the others are wide.
//   - A batch of a query's result is valid while the tables are open (the
//     rule of arrowtable).
package tablesql
