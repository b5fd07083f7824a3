//go:build duckdb_arrow

package tablesql_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/mmapvec/persistence/table"
)

type pair struct {
	A int8
	B int64
}

type every struct {
	I8      int8
	I16     int16
	I32     int32
	I64     int64
	U8      uint8
	U16     uint16
	U32     uint32
	U64     uint64
	F32     float32
	F64     float64
	OK      bool
	ID      [4]byte
	P       pair
	Hist    [3]int16
	M       [2][2]float32
	Pairs   [2]pair
	Name    string
	Raw     []byte
	Country table.Symbol
	Z       complex128
}

// DuckDB reads each column type as the Arrow type it maps to.
func TestTypes(t *testing.T) {
	dir := t.TempDir() + "/t"
	w, err := table.Open[every](dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var rows []every
	for i := range 10 {
		rows = append(rows, every{
			I8: int8(-i), I16: int16(-1000 * i), I32: int32(i) << 20, I64: -int64(i) << 40,
			U8: uint8(200 + i), U16: uint16(60000 + i), U32: uint32(4e9) + uint32(i), U64: 1<<63 + uint64(i),
			F32: float32(i) / 4, F64: float64(i) / 8, OK: i%2 == 0,
			ID: [4]byte{'a', 'b', byte('0' + i), 0}, P: pair{int8(i), int64(i) * 7},
			Hist: [3]int16{int16(i), 2, 3}, M: [2][2]float32{{1, 2}, {3, float32(i)}},
			Pairs: [2]pair{{1, 2}, {int8(i), 4}}, Name: fmt.Sprint("n", i), Raw: []byte{byte(i), 0, 255},
			Country: countries[i%len(countries)],
			Z:       complex(float64(i), -0.5),
		})
	}
	if err := w.AppendRows(rows); err != nil {
		t.Fatal(err)
	}
	db := open(t)
	if err := db.Attach("t", w, nil); err != nil {
		t.Fatal(err)
	}
	res, err := db.Query(context.Background(), `SELECT
		typeof(I8), typeof(U64), typeof(OK), typeof(ID), typeof(P), typeof(Hist), typeof(M), typeof(Pairs), typeof(Name), typeof(Raw), typeof(Country),
		sum(I8), sum(I16), sum(I32), sum(I64), sum(U8), sum(U16), sum(U32), sum(U64)::VARCHAR, sum(F32), sum(F64), count(*) FILTER (OK),
		string_agg(ID::VARCHAR, ',' ORDER BY U8), sum(P.B), sum(Hist[1]), sum(M[2][2]), sum(Pairs[2].A), string_agg(Name, ',' ORDER BY U8), sum(octet_length(Raw)), string_agg(Country, ',' ORDER BY U8), typeof(Z), sum(Z.real), sum(Z.imag)
		FROM t GROUP BY ALL`)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	vals, err := firstRow(res)
	if err != nil {
		t.Fatal(err)
	}
	// The sums, worked out from the rows above.
	want := `[TINYINT UBIGINT BOOLEAN BLOB STRUCT(A TINYINT, B BIGINT) SMALLINT[3] FLOAT[2][2] STRUCT(A TINYINT, B BIGINT)[2] VARCHAR BLOB VARCHAR` +
		` -45 -45000 47185920 -49478023249920 2045 600045 40000000045 92233720368547758125 11.25 5.625 5` +
		` ab0\x00,ab1\x00,ab2\x00,ab3\x00,ab4\x00,ab5\x00,ab6\x00,ab7\x00,ab8\x00,ab9\x00 315 45 45 45 n0,n1,n2,n3,n4,n5,n6,n7,n8,n9 30 DE,FR,US,,JP,DE,FR,US,,JP STRUCT("real" DOUBLE, imag DOUBLE) 45 -5]`
	if got := fmt.Sprint(vals); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}
