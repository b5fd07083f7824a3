//go:build !cgo

package main

import (
	"errors"
	"io"
)

// sqlCmd is the sql command of a build without DuckDB, which links
// through cgo.
func sqlCmd(io.Writer, string, []string, bool) error {
	return errors.New("this persist was built without SQL: DuckDB needs cgo (CGO_ENABLED=1 and a C compiler: CGO_ENABLED=1 go install github.com/mmapvec/persistence/cmd/persist@latest)")
}
