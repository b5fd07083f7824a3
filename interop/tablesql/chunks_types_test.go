package tablesql_test

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"testing"

	"github.com/mmapvec/persistence/table"
)

type duo struct {
	A int8
	B int64
}

// kinds has a column of every kind a table stores.
type kinds struct {
	Row   int64
	I8    int8
	I16   int16
	I32   int32
	U8    uint8
	U16   uint16
	U32   uint32
	U64   uint64
	Int   int
	Uint  uint
	F32   float32
	F64   float64
	OK    bool
	ID    [4]byte
	P     duo
	Hist  [3]int16
	M     [2][2]float32
	Pairs [2]duo
	Name  string
	Raw   []byte
	Sym   table.Symbol
	Z     complex128
	C64   complex64
	Q     struct {
		X   int32
		_   [4]byte
		Tag [3]byte
		Y   [2]duo
	}
}

func kindsRow(i int) kinds {
	k := kinds{
		Row: int64(i), I8: int8(i), I16: int16(-i * 7), I32: int32(i) << 12, U8: uint8(i * 3), U16: uint16(i * 11),
		U32: uint32(i) * 1e6, U64: math.MaxUint64 - uint64(i), Int: -i << 33, Uint: uint(i) << 40,
		F32: float32(i) / 4, F64: -float64(i) / 8, OK: i%3 == 1,
		ID: [4]byte{byte(i), 0, 'x', byte(i >> 8)}, P: duo{int8(-i), int64(i) << 35},
		Hist: [3]int16{int16(i), int16(-i), 7}, M: [2][2]float32{{1, float32(i)}, {float32(-i), 0.5}},
		Pairs: [2]duo{{1, int64(i)}, {int8(i / 2), -2}},
		Name:  fmt.Sprintf("name %d", i%97), Sym: table.Symbol(fmt.Sprint("s", i%5)),
		Z: complex(float64(i), -1), C64: complex(float32(i)/2, 3),
	}
	if i%4 == 0 {
		k.Sym, k.Name = "", ""
	}
	if i%5 != 0 {
		k.Raw = []byte{byte(i), 0, 255, byte(i >> 8)}
	}
	k.Q.X, k.Q.Tag, k.Q.Y = int32(-i), [3]byte{'q', byte(i), 0}, [2]duo{{int8(i), 9}, {3, int64(-i)}}
	return k
}

// want is a row as DuckDB's driver gives it back.
func (k kinds) want() []any {
	d := func(p duo) map[string]any { return map[string]any{"A": p.A, "B": p.B} }
	raw := k.Raw
	if raw == nil {
		raw = []byte{}
	}
	return []any{
		k.Row, k.I8, k.I16, k.I32, k.U8, k.U16, k.U32, k.U64, int64(k.Int), uint64(k.Uint), k.F32, k.F64, k.OK,
		k.ID[:], d(k.P), []any{k.Hist[0], k.Hist[1], k.Hist[2]},
		[]any{[]any{k.M[0][0], k.M[0][1]}, []any{k.M[1][0], k.M[1][1]}},
		[]any{d(k.Pairs[0]), d(k.Pairs[1])}, k.Name, raw, string(k.Sym),
		map[string]any{"real": real(k.Z), "imag": imag(k.Z)},
		map[string]any{"real": real(k.C64), "imag": imag(k.C64)},
		map[string]any{"X": k.Q.X, "Tag": k.Q.Tag[:], "Y": []any{d(k.Q.Y[0]), d(k.Q.Y[1])}},
	}
}

// Every kind of column reads back, through the chunk route, as the values
// a Go loop over the table gives, in several chunks read by two threads.
func TestChunkKinds(t *testing.T) {
	dir := t.TempDir() + "/k"
	w, err := table.Open[kinds](dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	const n = 5000
	rows := make([]kinds, n)
	for i := range rows {
		rows[i] = kindsRow(i)
	}
	if err := w.AppendRows(rows); err != nil {
		t.Fatal(err)
	}
	r, err := table.Open[table.Any](dir, &table.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	db := openChunks(t)
	if err := db.Attach("w", w, nil); err != nil {
		t.Fatal(err)
	}
	if err := db.Attach("r", r, nil); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"w", "r"} {
		res, err := db.Query(context.Background(), "SELECT * FROM "+name+" ORDER BY Row")
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := res.Columns()
		got := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range got {
			ptrs[i] = &got[i]
		}
		i := 0
		for res.Next() {
			if err := res.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			want := rows[i].want()
			for c := range want {
				if !reflect.DeepEqual(got[c], want[c]) {
					t.Fatalf("%s: row %d column %s: %#v, want %#v", name, i, cols[c], got[c], want[c])
				}
			}
			i++
		}
		if err := res.Err(); err != nil {
			t.Fatal(err)
		}
		res.Close()
		if i != n {
			t.Fatalf("%s: %d rows, want %d", name, i, n)
		}
	}
}
