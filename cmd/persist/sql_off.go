//go:build !duckdb_arrow || !cgo

package main

import (
	"errors"
	"io"
)

// sqlCmd is the sql command of a build without DuckDB: DuckDB links
// through cgo, and its Arrow interface only with the duckdb_arrow tag.
func sqlCmd(io.Writer, string, []string, bool) error {
	return errors.New("this persist was built without SQL: build it with cgo and -tags duckdb_arrow (go install -tags duckdb_arrow github.com/mmapvec/persistence/cmd/persist@latest)")
}
