//go:build !duckdb_arrow

package bench

// Without the duckdb_arrow build tag, DuckDB has no Arrow interface and
// the SQL workloads are left out of the report.
func sqlWorkloads(Config) []*Workload { return nil }
