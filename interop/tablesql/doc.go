// Package tablesql runs SQL over live tables with DuckDB: DuckDB scans
// each table's columns where they lie, without copying the rows into a
// DuckDB table first.
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
// # Two routes
//
// The Arrow route ([Open] with the duckdb_arrow build tag, which
// duckdb-go's Arrow interface needs) hands DuckDB each table as a stream
// of Arrow record batches (package arrowtable), most of whose buffers are
// the table's mapping: DuckDB's threads convert them.
//
// The chunk route ([OpenChunks], and [Open] in a build without the tag)
// registers a table function that fills DuckDB's chunks of 2048 rows
// from the columns, a chunk at a time: a copy of each value the query
// reads into DuckDB's vectors, by loops over the columns, on as many of
// DuckDB's threads as there are chunks. It needs cgo only:
//
//	go build                   # Open is the chunk route; no QueryArrow
//	go build -tags duckdb_arrow # Open is the Arrow route; OpenChunks, QueryArrow
//
// The routes give each column the same DuckDB type: integers of each
// width (int and uint as BIGINT and UBIGINT), FLOAT and DOUBLE, BOOLEAN,
// [N]byte as a BLOB of N bytes, string as VARCHAR, []byte as BLOB,
// table.Symbol as VARCHAR, a struct as a STRUCT of its fields but padding
// (fields named _), an array [N]T as an ARRAY T[N], complex numbers as a
// STRUCT(real, imag). The chunk route makes each nested value (a struct,
// an array, a complex number) as a Go value first: such columns cost an
// allocation per row and value, scalars none. A string or symbol that is
// not valid UTF-8 (a table stores any bytes) reads through the Arrow route
// as its bytes, and through the chunk route with each invalid byte
// replaced by U+FFFD, as JSON Lines export writes it (DuckDB would read it
// as NULL); a []byte column keeps every byte on both.
//
// # Caveats
//
//   - One query at a time: close a query's rows (or release its Arrow
//     reader) before the next, which fails with [ErrBusy] until then.
//     [DB.Close] closes a query's rows still open.
//     While a query runs, DuckDB's threads read the attached tables: use
//     them from no other goroutine until its rows are closed.
//   - On the Arrow route a query reads each attached table once, as one
//     stream of batches: a query that reads one twice (a self-join, a
//     subquery over it beside the main one) fails with [ErrScannedTwice].
//     Attach the table under a second name, or read it through WITH x AS
//     MATERIALIZED (...). On the chunk route each scan of a table reads
//     the rows it had when the query started, as many times as the query
//     reads it.
//   - DuckDB's Arrow scan would push the columns and filters a query
//     needs into a stream that cannot apply them; the Arrow route turns
//     those optimizations off (DuckDB's filter_pushdown, unused_columns
//     and join_filter_pushdown), so each scan reads every column of its
//     table: attach only the columns the queries need
//     (arrowtable.Options.Columns) when the others are wide. The chunk
//     route reads only the columns a query uses (projection pushdown);
//     DuckDB applies the filters to the rows it is given.
//   - On the chunk route, as on the Arrow route for the columns its
//     batches share with the mapping, a row changed in place (SetRow,
//     SwapRemove, Delete) while a query reads it may show its new value in
//     some columns: strings, bytes and symbols are read as one state of
//     the table, each chunk inside [table.Table.Consistent], fixed-size
//     values from the mapping as they are. With several threads its rows
//     come in no set order: ORDER BY what the result needs ordered.
//   - A batch of a query's Arrow result is valid while the tables are
//     open (the rule of arrowtable).
package tablesql
