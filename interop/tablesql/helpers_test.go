package tablesql_test

import (
	"fmt"
	"testing"

	"github.com/mmapvec/persistence/internal/testseed"
	"github.com/mmapvec/persistence/interop/tablesql"
)

// seed returns the seed of a randomized test (testseed).
func seed(t testing.TB) uint64 { t.Helper(); return testseed.Seed(t) }

// openChunks opens a database of the chunk route on two threads, closed
// with the test.
func openChunks(t *testing.T) *tablesql.DB { return openWith(t, tablesql.OpenChunks) }

func openWith(t *testing.T, o func(map[string]string) (*tablesql.DB, error)) *tablesql.DB {
	t.Helper()
	db, err := o(map[string]string{"threads": "2"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	return db
}

// firstRow scans the first row of res into a value per column; an error if
// there is none.
func firstRow(res *tablesql.Rows) ([]any, error) {
	cols, err := res.Columns()
	if err != nil {
		return nil, err
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if !res.Next() {
		return nil, fmt.Errorf("no row: %w", res.Err())
	}
	return vals, res.Scan(ptrs...)
}
