//go:build !duckdb_arrow

package tablesql

import "database/sql"

// Open starts an in-memory DuckDB database. Without the duckdb_arrow
// build tag, which duckdb-go's Arrow interface needs, it is [OpenChunks]:
// the tables are read through DuckDB's table functions, and DB has no
// QueryArrow.
func Open(config map[string]string) (*DB, error) { return OpenChunks(config) }

// arrowRoute is empty in a build without DuckDB's Arrow interface.
type arrowRoute struct{}

func (*arrowRoute) init(*sql.Conn) error   { return nil }
func (*arrowRoute) begin([]attached) error { return nil }
func (*arrowRoute) drop()                  {}
func (*arrowRoute) err() error             { return nil }
