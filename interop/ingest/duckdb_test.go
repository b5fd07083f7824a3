//go:build cgo

package ingest_test

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"
	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence/interop/ingest"
	"github.com/mmapvec/persistence/table"
)

// TestImportDuckDBFile imports a Parquet file another engine wrote:
// nullable columns, a timestamp, DuckDB's own choice of encodings.
func TestImportDuckDBFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "duck.parquet")
	db, err := sql.Open("duckdb", "")
	require.NoError(t, err)
	defer db.Close()
	_, err = db.Exec(fmt.Sprintf(`COPY (SELECT i::BIGINT AS id, (i * 0.5)::DOUBLE AS score,
		CASE WHEN i %% 4 = 0 THEN NULL ELSE 'name' || i END AS name,
		(i %% 200)::UTINYINT AS small, TIMESTAMP '2026-01-01' + INTERVAL (i) SECOND AS ts
		FROM range(5000) t(i)) TO '%s' (FORMAT parquet)`, file))
	require.NoError(t, err)

	n, err := importFile(filepath.Join(dir, "t"), file, nil)
	require.NoError(t, err)
	require.Equal(t, 5000, n)
	type row struct {
		ID    int64   `persist:"id"`
		Score float64 `persist:"score"`
		Name  string  `persist:"name"`
		Small uint8   `persist:"small"`
		TS    int64   `persist:"ts"`
	}
	tb, err := table.Open[row](filepath.Join(dir, "t"), &table.Options{ReadOnly: true})
	require.NoError(t, err)
	defer tb.Close()
	require.Equal(t, row{ID: 4, Score: 2, Name: "", Small: 4, TS: 1767225600_000000 + 4_000000}, tb.Row(4))
	require.Equal(t, row{ID: 4999, Score: 2499.5, Name: "name4999", Small: 199, TS: 1767225600_000000 + 4999_000000}, tb.Row(4999))

	// A DECIMAL has no table column, whether stored as an integer or, wide,
	// as a FIXED_LEN_BYTE_ARRAY; nor has a UUID. Into a table with a
	// [16]byte column they are no bytes either.
	type wide struct {
		D [16]byte `persist:"d"`
	}
	w, err := table.Open[wide](filepath.Join(dir, "wide"), nil)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	for name, expr := range map[string]string{"dec": "1.5::DECIMAL(10, 2)", "widedec": "i * 1.5", "uuid": "uuid()"} {
		file := filepath.Join(dir, name+".parquet")
		_, err = db.Exec(fmt.Sprintf(`COPY (SELECT %s AS d FROM range(3) t(i)) TO '%s' (FORMAT parquet)`, expr, file))
		require.NoError(t, err)
		_, err = importFile(filepath.Join(dir, name), file, nil)
		require.ErrorIs(t, err, ingest.ErrSchema, name)
		require.NoDirExists(t, filepath.Join(dir, name))
		_, err = importFile(filepath.Join(dir, "wide"), file, nil)
		require.ErrorIs(t, err, ingest.ErrSchema, name)
	}
}
