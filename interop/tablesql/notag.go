//go:build !duckdb_arrow

package tablesql

// DuckDB's Arrow interface, through which the tables are scanned, is built
// only with the duckdb_arrow build tag (duckdb-go keeps it opt-in): this
// line stops a build without it, naming the fix.
var _ = tablesql_needs_go_build_tags_duckdb_arrow
