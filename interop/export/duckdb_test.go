//go:build cgo

package export_test

import (
	"database/sql"
	"fmt"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"
	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence/interop/export"
)

// DuckDB links through cgo: these tests build where it does.

// agg is COUNT, SUM, MIN, MAX of one column, as text.
type agg struct{ count, sum, min, max string }

// goAgg computes agg over the table's rows with a Go loop, for the leaves
// of ints and floats.
func goAgg(rows []every) map[string]agg {
	ints := map[string]func(e *every) *big.Int{
		"B": func(e *every) *big.Int {
			if e.B {
				return big.NewInt(1)
			}
			return big.NewInt(0)
		},
		"I8":         func(e *every) *big.Int { return big.NewInt(int64(e.I8)) },
		"I16":        func(e *every) *big.Int { return big.NewInt(int64(e.I16)) },
		"I32":        func(e *every) *big.Int { return big.NewInt(int64(e.I32)) },
		"I64":        func(e *every) *big.Int { return big.NewInt(e.I64) },
		"I":          func(e *every) *big.Int { return big.NewInt(int64(e.I)) },
		"U8":         func(e *every) *big.Int { return big.NewInt(int64(e.U8)) },
		"U16":        func(e *every) *big.Int { return big.NewInt(int64(e.U16)) },
		"U32":        func(e *every) *big.Int { return big.NewInt(int64(e.U32)) },
		"U64":        func(e *every) *big.Int { return new(big.Int).SetUint64(e.U64) },
		"Nested.A":   func(e *every) *big.Int { return big.NewInt(int64(e.Nested.A)) },
		"Nested.B.1": func(e *every) *big.Int { return big.NewInt(int64(e.Nested.B[1])) },
	}
	out := map[string]agg{}
	for name, f := range ints {
		sum, lo, hi := new(big.Int), f(&rows[0]), f(&rows[0])
		for i := range rows {
			v := f(&rows[i])
			sum.Add(sum, v)
			if v.Cmp(lo) < 0 {
				lo = v
			}
			if v.Cmp(hi) > 0 {
				hi = v
			}
		}
		out[name] = agg{strconv.Itoa(len(rows)), sum.String(), lo.String(), hi.String()}
	}
	floats := map[string]func(e *every) float64{
		"F32":   func(e *every) float64 { return float64(e.F32) },
		"F64":   func(e *every) float64 { return e.F64 },
		"Pos.1": func(e *every) float64 { return float64(e.Pos[1]) },
	}
	for name, f := range floats {
		sum, lo, hi := 0.0, math.Inf(1), math.Inf(-1)
		for i := range rows {
			v := f(&rows[i])
			sum += v
			lo, hi = min(lo, v), max(hi, v)
		}
		out[name] = agg{strconv.Itoa(len(rows)), strconv.FormatFloat(sum, 'g', 12, 64), strconv.FormatFloat(lo, 'g', -1, 64), strconv.FormatFloat(hi, 'g', -1, 64)}
	}
	return out
}

func TestParquetDuckDBAggregates(t *testing.T) {
	n := 1_000_000
	if testing.Short() || raceEnabled {
		n = 100_000
	}
	dir := t.TempDir()
	newEvery(t, filepath.Join(dir, "t"), n)
	tb := openAny(t, filepath.Join(dir, "t"))
	path := filepath.Join(dir, "t.parquet")
	f, err := os.Create(path)
	require.NoError(t, err)
	got, err := export.Parquet(tb, f, &export.Options{Compression: "zstd", RowGroupBytes: 8 << 20})
	require.NoError(t, err)
	require.NoError(t, f.Close())
	require.Equal(t, n, got)

	rows := make([]every, n)
	for i := range rows {
		rows[i] = mkEvery(i)
	}
	want := goAgg(rows)

	db, err := sql.Open("duckdb", "")
	require.NoError(t, err)
	defer db.Close()
	for name, w := range want {
		var g agg
		q := fmt.Sprintf(`SELECT count("%[1]s")::VARCHAR, sum("%[1]s"::HUGEINT)::VARCHAR, min("%[1]s"::HUGEINT)::VARCHAR, max("%[1]s"::HUGEINT)::VARCHAR FROM read_parquet('%[2]s')`, name, path)
		if name[0] == 'F' || name == "Pos.1" {
			q = fmt.Sprintf(`SELECT count("%[1]s")::VARCHAR, printf('%%.12g', sum("%[1]s"::DOUBLE)), min("%[1]s")::DOUBLE::VARCHAR, max("%[1]s")::DOUBLE::VARCHAR FROM read_parquet('%[2]s')`, name, path)
		}
		require.NoError(t, db.QueryRow(q).Scan(&g.count, &g.sum, &g.min, &g.max), name)
		if name[0] == 'F' || name == "Pos.1" {
			for _, p := range []*string{&g.min, &g.max} {
				v, err := strconv.ParseFloat(*p, 64)
				require.NoError(t, err)
				*p = strconv.FormatFloat(v, 'g', -1, 64)
			}
		}
		require.Equal(t, w, g, "column %s", name)
	}

	// Strings, bytes and symbols: counts, lengths, extremes, and a group
	// count through the dictionary.
	var count, sumLen int64
	var lo, hi string
	require.NoError(t, db.QueryRow(fmt.Sprintf(`SELECT count(S), sum(length(S)), min(S), max(S) FROM read_parquet('%s')`, path)).Scan(&count, &sumLen, &lo, &hi))
	wantLen := int64(0)
	for i := range rows {
		wantLen += int64(len(rows[i].S))
	}
	require.Equal(t, []any{int64(n), wantLen, "s0", "s999"}, []any{count, sumLen, lo, hi})
	var de, bodies, tags int64
	require.NoError(t, db.QueryRow(fmt.Sprintf(`SELECT count(*) FILTER (WHERE Land = 'DE'), sum(octet_length(Body)), count(*) FILTER (WHERE Tag = 'tb'::BLOB || '\x00\x00\x00\x00'::BLOB) FROM read_parquet('%s')`, path)).Scan(&de, &bodies, &tags))
	wantDE, wantBodies, wantTags := int64(0), int64(0), int64(0)
	for i := range rows {
		if rows[i].Land == "DE" {
			wantDE++
		}
		wantBodies += int64(len(rows[i].Body))
		if rows[i].Tag == [6]byte{'t', 'b'} {
			wantTags++
		}
	}
	require.Equal(t, []int64{wantDE, wantBodies, wantTags}, []int64{de, bodies, tags})

	var types []string
	r, err := db.Query(fmt.Sprintf(`SELECT column_name || ' ' || column_type FROM (DESCRIBE SELECT * FROM read_parquet('%s'))`, path))
	require.NoError(t, err)
	for r.Next() {
		var s string
		require.NoError(t, r.Scan(&s))
		types = append(types, s)
	}
	require.NoError(t, r.Err())
	require.Equal(t, []string{"B BOOLEAN", "I8 TINYINT", "I16 SMALLINT", "I32 INTEGER", "I64 BIGINT", "I BIGINT",
		"U8 UTINYINT", "U16 USMALLINT", "U32 UINTEGER", "U64 UBIGINT", "F32 FLOAT", "F64 DOUBLE", "Tag BLOB",
		"Pos.0 FLOAT", "Pos.1 FLOAT", "Pos.2 FLOAT", "Nested.A SMALLINT", "Nested.B.0 UINTEGER", "Nested.B.1 UINTEGER",
		"S VARCHAR", "Land VARCHAR", "Body BLOB"}, types)
}

func TestParquetHivePartitions(t *testing.T) {
	dir := t.TempDir()
	n := 20_000
	newEvery(t, filepath.Join(dir, "t"), n)
	tb := openAny(t, filepath.Join(dir, "t"))
	out := filepath.Join(dir, "out")
	got, err := export.ParquetDir(tb, out, &export.Options{PartitionBy: "land", RowGroupBytes: 64 << 10})
	require.NoError(t, err)
	require.Equal(t, n, got)
	for _, p := range []string{"Land=DE", "Land=FR", "Land=US", "Land=__HIVE_DEFAULT_PARTITION__"} {
		require.FileExists(t, filepath.Join(out, p, "part-0.parquet"))
	}
	_, err = export.ParquetDir(tb, out, nil)
	require.ErrorIs(t, err, export.ErrOption)
	_, err = export.ParquetDir(tb, filepath.Join(dir, "f"), &export.Options{PartitionBy: "F64"})
	require.ErrorIs(t, err, export.ErrOption)
	_, err = export.ParquetDir(tb, filepath.Join(dir, "g"), &export.Options{PartitionBy: "nope"})
	require.ErrorIs(t, err, export.ErrOption)

	db, err := sql.Open("duckdb", "")
	require.NoError(t, err)
	defer db.Close()
	r, err := db.Query(fmt.Sprintf(`SELECT coalesce(Land, ''), count(*), sum(I64) FROM read_parquet('%s/*/*.parquet', hive_partitioning=1) GROUP BY ALL ORDER BY 1`, out))
	require.NoError(t, err)
	defer r.Close()
	type group struct {
		land       string
		count, sum int64
	}
	var groups []group
	for r.Next() {
		var g group
		require.NoError(t, r.Scan(&g.land, &g.count, &g.sum))
		groups = append(groups, g)
	}
	require.NoError(t, r.Err())
	want := map[string]*group{}
	for i := range n {
		e := mkEvery(i)
		g := want[string(e.Land)]
		if g == nil {
			g = &group{land: string(e.Land)}
			want[g.land] = g
		}
		g.count++
		g.sum += e.I64
	}
	require.Equal(t, []group{*want[""], *want["DE"], *want["FR"], *want["US"]}, groups)
}
