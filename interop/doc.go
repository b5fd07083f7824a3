// Package interop is the way in and out of a table for other systems. Its
// packages:
//
//   - arrowtable: a table's rows as Arrow record batches whose fixed-size
//     columns are the table's mapping, and Arrow IPC files and streams;
//   - tablesql: SQL over live tables with DuckDB, through those batches
//     (built with -tags duckdb_arrow);
//   - export: Parquet, CSV and JSON Lines out of a table;
//   - ingest: Parquet and CSV into a new or an existing table.
//
// It is a module of its own, nested in the repository, so that programs
// that use only the library never inherit Arrow, Parquet or DuckDB: the
// library module keeps its three small dependencies, and this one adds the
// big ones (DuckDB links a C++ library through cgo).
package interop
