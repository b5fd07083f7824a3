package arrowtable_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/mmapvec/persistence/internal/testseed"
	"github.com/mmapvec/persistence/interop/arrowtable"
	"github.com/mmapvec/persistence/table"
)

type pair struct {
	A int8
	B int64 // after 7 bytes of padding: a struct's leaves are interleaved
}

// every holds a column of each kind arrowtable maps.
type every struct {
	I8      int8
	I16     int16
	I32     int32
	I64     int64
	Int     int
	U8      uint8
	U16     uint16
	U32     uint32
	U64     uint64
	F32     float32
	F64     float64
	OK      bool
	ID      [16]byte
	Pos     vec3
	Hist    [4]int16
	M       [2][3]float32
	Flags   [3]bool
	Z       complex64
	Pairs   [2]pair
	Name    string
	Raw     []byte
	Country table.Symbol
}

// seed returns the seed of a randomized test (testseed).
func seed(t testing.TB) uint64 { t.Helper(); return testseed.Seed(t) }

var countries = []table.Symbol{"", "DE", "FR", "US", "JP", "BR"}

func randomRow(rng *rand.Rand, i int) every {
	r := every{
		I8: int8(rng.Uint32()), I16: int16(rng.Uint32()), I32: int32(rng.Uint32()), I64: int64(rng.Uint64()),
		Int: int(rng.Uint64()), U8: uint8(rng.Uint32()), U16: uint16(rng.Uint32()), U32: rng.Uint32(), U64: rng.Uint64(),
		F32: rng.Float32(), F64: rng.NormFloat64(), OK: rng.IntN(2) == 1,
		Pos:     vec3{rng.Float32(), rng.Float32(), float32(i)},
		Hist:    [4]int16{int16(i), -1, 2, int16(rng.Uint32())},
		M:       [2][3]float32{{1, 2, float32(i)}, {rng.Float32(), 5, 6}},
		Flags:   [3]bool{i%2 == 0, i%3 == 0, true},
		Pairs:   [2]pair{{int8(i), int64(i) * 1000}, {-1, rng.Int64()}},
		Country: countries[rng.IntN(len(countries))],
	}
	for k := range r.ID {
		r.ID[k] = byte(rng.Uint32())
	}
	if i%7 != 0 {
		r.Name = fmt.Sprintf("row %d %x", i, rng.Uint32())
	}
	if i%5 != 0 {
		r.Raw = []byte(fmt.Sprint(rng.Uint64()))
	}
	return r
}

func makeTable(t *testing.T, rng *rand.Rand, n int) (string, []every) {
	t.Helper()
	dir := t.TempDir() + "/t"
	tb, err := table.Open[every](dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tb.Close()
	rows := make([]every, n)
	for i := range rows {
		rows[i] = randomRow(rng, i)
	}
	if err := tb.AppendRows(rows); err != nil {
		t.Fatal(err)
	}
	if err := tb.Sync(); err != nil {
		t.Fatal(err)
	}
	return dir, rows
}

func openAny(t *testing.T, dir string, opts *table.Options) *table.Table[table.Any] {
	t.Helper()
	tb, err := table.Open[table.Any](dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tb.Close() })
	return tb
}

// TestEveryType reads a table of every column type as Arrow batches and
// compares each value with the rows appended.
func TestEveryType(t *testing.T) {
	rng := rand.New(rand.NewPCG(seed(t), 1))
	const n = 2000
	dir, rows := makeTable(t, rng, n)
	for _, batch := range []int{0, 333} {
		t.Run(fmt.Sprintf("batch=%d", batch), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			tb := openAny(t, dir, &table.Options{ReadOnly: true})
			r, err := arrowtable.NewReader(tb, &arrowtable.Options{BatchRows: batch, Allocator: mem})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Release()
			if r.Rows() != n {
				t.Fatalf("Rows %d, want %d", r.Rows(), n)
			}
			at := 0
			for r.Next() {
				rec := r.RecordBatch()
				if batch > 0 && rec.NumRows() > int64(batch) {
					t.Fatalf("a batch of %d rows, BatchRows %d", rec.NumRows(), batch)
				}
				for j := range int(rec.NumRows()) {
					checkRow(t, rec, j, rows[at+j], at+j)
				}
				at += int(rec.NumRows())
			}
			if err := r.Err(); err != nil {
				t.Fatal(err)
			}
			if at != n {
				t.Fatalf("read %d rows, want %d", at, n)
			}
		})
	}
}

// colCache holds the columns of the batch col looked in last, by name.
var colCache struct {
	rec  arrow.RecordBatch
	cols map[string]arrow.Array
}

func col[A arrow.Array](t *testing.T, rec arrow.RecordBatch, name string) A {
	t.Helper()
	if colCache.rec != rec {
		colCache.rec, colCache.cols = rec, map[string]arrow.Array{}
		for i, f := range rec.Schema().Fields() {
			colCache.cols[f.Name] = rec.Column(i)
		}
	}
	c, ok := colCache.cols[name]
	if !ok {
		t.Fatalf("no column %q in %s", name, rec.Schema())
	}
	a, ok := c.(A)
	if !ok {
		t.Fatalf("column %q is a %T", name, c)
	}
	return a
}

func checkRow(t *testing.T, rec arrow.RecordBatch, j int, want every, i int) {
	t.Helper()
	var got every
	got.I8 = col[*array.Int8](t, rec, "I8").Value(j)
	got.I16 = col[*array.Int16](t, rec, "I16").Value(j)
	got.I32 = col[*array.Int32](t, rec, "I32").Value(j)
	got.I64 = col[*array.Int64](t, rec, "I64").Value(j)
	got.Int = int(col[*array.Int64](t, rec, "Int").Value(j))
	got.U8 = col[*array.Uint8](t, rec, "U8").Value(j)
	got.U16 = col[*array.Uint16](t, rec, "U16").Value(j)
	got.U32 = col[*array.Uint32](t, rec, "U32").Value(j)
	got.U64 = col[*array.Uint64](t, rec, "U64").Value(j)
	got.F32 = col[*array.Float32](t, rec, "F32").Value(j)
	got.F64 = col[*array.Float64](t, rec, "F64").Value(j)
	got.OK = col[*array.Boolean](t, rec, "OK").Value(j)
	copy(got.ID[:], col[*array.FixedSizeBinary](t, rec, "ID").Value(j))

	pos := col[*array.Struct](t, rec, "Pos")
	got.Pos = vec3{
		pos.Field(0).(*array.Float32).Value(j),
		pos.Field(1).(*array.Float32).Value(j),
		pos.Field(2).(*array.Float32).Value(j)}

	hist := col[*array.FixedSizeList](t, rec, "Hist").ListValues().(*array.Int16)
	for k := range got.Hist {
		got.Hist[k] = hist.Value(j*4 + k)
	}
	m := col[*array.FixedSizeList](t, rec, "M").ListValues().(*array.FixedSizeList).ListValues().(*array.Float32)
	for a := range 2 {
		for b := range 3 {
			got.M[a][b] = m.Value(j*6 + a*3 + b)
		}
	}
	flags := col[*array.FixedSizeList](t, rec, "Flags").ListValues().(*array.Boolean)
	for k := range got.Flags {
		got.Flags[k] = flags.Value(j*3 + k)
	}
	z := col[*array.Struct](t, rec, "Z")
	got.Z = complex(z.Field(0).(*array.Float32).Value(j), z.Field(1).(*array.Float32).Value(j))
	pairs := col[*array.FixedSizeList](t, rec, "Pairs").ListValues().(*array.Struct)
	for k := range got.Pairs {
		got.Pairs[k] = pair{pairs.Field(0).(*array.Int8).Value(j*2 + k), pairs.Field(1).(*array.Int64).Value(j*2 + k)}
	}
	got.Name = col[*array.String](t, rec, "Name").Value(j)
	if b := col[*array.Binary](t, rec, "Raw").Value(j); len(b) > 0 {
		got.Raw = append([]byte(nil), b...)
	}
	country := col[*array.Dictionary](t, rec, "Country")
	got.Country = table.Symbol(country.Dictionary().(*array.String).Value(country.GetValueIndex(j)))

	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("row %d:\n got %+v\nwant %+v", i, got, want)
	}
}

// TestZeroCopy checks that the buffers of fixed-size columns (and of
// string values appended in row order) lie inside the table's mapping.
func TestZeroCopy(t *testing.T) {
	rng := rand.New(rand.NewPCG(seed(t), 2))
	dir, _ := makeTable(t, rng, 3000)
	tb := openAny(t, dir, &table.Options{ReadOnly: true})
	r, err := arrowtable.NewReader(tb, &arrowtable.Options{BatchRows: 1024})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	inside := func(name string, buf []byte) {
		t.Helper()
		m, err := tb.Memory(name, tb.Len())
		if err != nil {
			t.Fatal(err)
		}
		within := func(b []byte) bool {
			if len(b) == 0 {
				return false
			}
			p, lo := uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&b[0]))
			return p >= lo && p+uintptr(len(buf)) <= lo+uintptr(len(b))
		}
		if !within(m.Elems) && !within(m.Heap) {
			t.Errorf("column %s: the buffer at %p is not in the mapping", name, &buf[0])
		}
	}
	batches := 0
	for r.Next() {
		rec := r.RecordBatch()
		for _, name := range []string{"I8", "I64", "U16", "F64", "ID"} {
			inside(name, col[arrow.Array](t, rec, name).Data().Buffers()[1].Bytes())
		}
		inside("Hist", col[*array.FixedSizeList](t, rec, "Hist").ListValues().Data().Buffers()[1].Bytes())
		inside("M", col[*array.FixedSizeList](t, rec, "M").ListValues().(*array.FixedSizeList).ListValues().Data().Buffers()[1].Bytes())
		inside("Name", col[*array.String](t, rec, "Name").Data().Buffers()[2].Bytes())
		inside("Country", col[*array.Dictionary](t, rec, "Country").Indices().Data().Buffers()[1].Bytes())
		batches++
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	if batches != 3 {
		t.Fatalf("%d batches, want 3", batches)
	}
	shared, copied := r.Stats()
	t.Logf("shared %d bytes, copied %d", shared, copied)
	if shared < 3000*8*4 || copied >= shared {
		t.Errorf("shared %d bytes, copied %d: the fixed columns should be shared", shared, copied)
	}
}

// TestChangedRows reads a table whose rows were set and removed in place,
// so that string values no longer lie in row order: they are copied, and
// still equal the rows.
func TestChangedRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(seed(t), 3))
	dir, rows := makeTable(t, rng, 2000)
	tb, err := table.Open[every](dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tb.Close() })
	for range 50 {
		i := rng.IntN(len(rows))
		rows[i] = randomRow(rng, i)
		rows[i].Country = table.Symbol(fmt.Sprint("new", i)) // a new dictionary entry
		if err := tb.SetRow(i, rows[i]); err != nil {
			t.Fatal(err)
		}
	}
	for range 20 {
		i := rng.IntN(len(rows))
		if err := tb.SwapRemove(i); err != nil {
			t.Fatal(err)
		}
		rows[i] = rows[len(rows)-1]
		rows = rows[:len(rows)-1]
	}
	// The writer's own table, read by the goroutine that changes it.
	r, err := arrowtable.NewReader(tb, &arrowtable.Options{BatchRows: 500})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	at := 0
	for r.Next() {
		rec := r.RecordBatch()
		for j := range int(rec.NumRows()) {
			checkRow(t, rec, j, rows[at+j], at+j)
		}
		at += int(rec.NumRows())
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	if at != len(rows) {
		t.Fatalf("read %d rows, want %d", at, len(rows))
	}
}

// TestColumns reads two columns by name, in the order given.
func TestColumns(t *testing.T) {
	rng := rand.New(rand.NewPCG(seed(t), 4))
	dir, rows := makeTable(t, rng, 100)
	tb := openAny(t, dir, nil)
	r, err := arrowtable.NewReader(tb, &arrowtable.Options{Columns: []string{"Name", "i64"}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	if got := r.Schema().String(); got != "schema:\n  fields: 2\n    - Name: type=utf8\n    - I64: type=int64" {
		t.Fatalf("schema %q", got)
	}
	if !r.Next() {
		t.Fatal(r.Err())
	}
	rec := r.RecordBatch()
	if rec.NumRows() != 100 || col[*array.Int64](t, rec, "I64").Value(99) != rows[99].I64 {
		t.Fatalf("%d rows, I64[99] %d, want %d", rec.NumRows(), col[*array.Int64](t, rec, "I64").Value(99), rows[99].I64)
	}
	if _, err := arrowtable.NewReader(tb, &arrowtable.Options{Columns: []string{"nope"}}); !errors.Is(err, table.ErrNoColumn) {
		t.Fatalf("a column that is not: %v", err)
	}
}

// TestMaxBatches checks that MaxBatches caps the batches of a reader whose
// columns are all the mapping's bytes, and of no other.
func TestMaxBatches(t *testing.T) {
	rng := rand.New(rand.NewPCG(seed(t), 5))
	dir, want := makeTable(t, rng, 1000)
	tb := openAny(t, dir, nil)
	for _, tc := range []struct {
		cols    []string
		batches int
	}{
		{[]string{"I64", "ID", "Hist", "M", "Country"}, 3}, // shared: capped
		{[]string{"I64", "Name"}, 16},                      // offsets are copies
		{[]string{"I64", "OK"}, 16},                        // bools are packed
		{[]string{"I64", "Pos"}, 16},                       // struct fields are gathered
	} {
		r, err := arrowtable.NewReader(tb, &arrowtable.Options{Columns: tc.cols, BatchRows: 64, MaxBatches: 3})
		if err != nil {
			t.Fatal(err)
		}
		batches, rows := 0, 0
		for r.Next() {
			rec := r.RecordBatch()
			ints := col[*array.Int64](t, rec, "I64")
			for j := range int(rec.NumRows()) {
				if got := ints.Value(j); got != want[rows+j].I64 {
					t.Fatalf("%v: row %d: I64 %d, want %d", tc.cols, rows+j, got, want[rows+j].I64)
				}
			}
			batches++
			rows += int(rec.NumRows())
		}
		if err := r.Err(); err != nil {
			t.Fatal(err)
		}
		r.Release()
		if batches != tc.batches || rows != len(want) {
			t.Errorf("%v: %d batches of %d rows in all, want %d of %d", tc.cols, batches, rows, tc.batches, len(want))
		}
	}
	if _, err := arrowtable.NewReader(tb, &arrowtable.Options{MaxBatches: -1}); err == nil {
		t.Error("MaxBatches -1 accepted")
	}
}
