// Package interop is the way in and out of a table for other systems:
// zero-copy Arrow record batches over a table's columns (arrowtable), SQL
// over live tables through DuckDB (sql), and Parquet, CSV and JSON Lines
// export and import.
//
// It is a module of its own, nested in the repository, so that programs
// that use only the library never inherit Arrow, Parquet or DuckDB: the
// library module keeps its three small dependencies, and this one adds the
// big ones (DuckDB links a C++ library through cgo).
package interop
