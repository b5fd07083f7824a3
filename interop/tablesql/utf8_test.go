package tablesql_test

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/mmapvec/persistence/interop/tablesql"
	"github.com/mmapvec/persistence/table"
)

// A table has no nulls, and a string or Symbol column is a VARCHAR, which
// the chunk route fills with valid UTF-8 only: a value of other bytes read
// as NULL there (count(S) and IS NULL were wrong, silently). It reads with
// each invalid byte replaced by U+FFFD, as JSON Lines export writes it; the
// Arrow route gives its bytes.
func TestInvalidUTF8IsNotNull(t *testing.T) {
	type row struct {
		ID  int64
		S   string
		Sym table.Symbol
	}
	for _, route := range []struct {
		name string
		open func(map[string]string) (*tablesql.DB, error)
	}{{"Open", tablesql.Open}, {"OpenChunks", tablesql.OpenChunks}} {
		t.Run(route.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "t")
			w, err := table.Open[row](dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range []row{{0, "ok", "DE"}, {1, "\xff\xfe bad", "\xffSYM"}, {2, "fine", "FR"}} {
				if err := w.Append(r); err != nil {
					t.Fatal(err)
				}
			}
			defer w.Close()
			db := openWith(t, route.open)
			if err := db.Attach("t", w, nil); err != nil {
				t.Fatal(err)
			}
			res, err := db.Query(context.Background(), `SELECT count(*), count(S), count(Sym) FROM t`)
			if err != nil {
				t.Fatal(err)
			}
			vals, err := firstRow(res)
			res.Close()
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("count(*), count(S), count(Sym) = %v", vals)
			if vals[0] != vals[1] || vals[0] != vals[2] {
				t.Errorf("a table without nulls reads NULLs: count(*), count(S), count(Sym) = %v", vals)
			}
			res, err = db.Query(context.Background(), `SELECT S, Sym FROM t WHERE ID = 1`)
			if err != nil {
				t.Fatal(err)
			}
			vals, err = firstRow(res)
			res.Close()
			if err != nil {
				t.Fatal(err)
			}
			// The Arrow route gives the bytes, the chunk route U+FFFD for each invalid one.
			raw, replaced := []any{"\xff\xfe bad", "\xffSYM"}, []any{"\uFFFD\uFFFD bad", "\uFFFDSYM"}
			if !reflect.DeepEqual(vals, raw) && !reflect.DeepEqual(vals, replaced) {
				t.Errorf("invalid UTF-8 reads %q, want %q or %q", vals, raw, replaced)
			}
		})
	}
}
