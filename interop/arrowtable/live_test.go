package arrowtable_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/mmapvec/persistence/interop/arrowtable"
	"github.com/mmapvec/persistence/table"
)

// A reader's batches, while a writer in another goroutine appends, hold a
// prefix of the writer's rows: the count of one Refresh.
func TestReaderBesideWriter(t *testing.T) {
	s := seed(t)
	dir := t.TempDir() + "/t"
	w, err := table.Open[every](dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	gen := rand.New(rand.NewPCG(s, 6))
	var rows []every
	for i := range 500 {
		rows = append(rows, randomRow(gen, i))
	}
	if err := w.AppendRows(rows); err != nil {
		t.Fatal(err)
	}
	const total = 3000
	for len(rows) < total {
		rows = append(rows, randomRow(gen, len(rows)))
	}
	r := openAny(t, dir, &table.Options{ReadOnly: true})

	var wg sync.WaitGroup
	var werr error
	wg.Go(func() {
		batch := rand.New(rand.NewPCG(s, 7))
		for n := 500; n < total; {
			k := min(1+batch.IntN(300), total-n)
			if werr = w.AppendRows(rows[n : n+k]); werr != nil {
				return
			}
			n += k
		}
	})
	last := 0
	for pass := 0; last < total; pass++ {
		rd, err := arrowtable.NewReader(r, &arrowtable.Options{BatchRows: 700})
		if err != nil {
			t.Fatal(err)
		}
		if rd.Rows() < last {
			t.Fatalf("pass %d: %d rows after %d", pass, rd.Rows(), last)
		}
		at := 0
		for rd.Next() {
			rec := rd.RecordBatch()
			for j := range int(rec.NumRows()) {
				checkRow(t, rec, j, rows[at+j], at+j)
			}
			at += int(rec.NumRows())
		}
		if err := rd.Err(); err != nil {
			t.Fatal(err)
		}
		if at != rd.Rows() {
			t.Fatalf("pass %d: read %d rows of %d", pass, at, rd.Rows())
		}
		rd.Release()
		last = at
		if pass > 10000 {
			t.Fatalf("the reader is stuck at %d rows", last)
		}
	}
	wg.Wait()
	if werr != nil {
		t.Fatal(werr)
	}
}

// What a batch shows of changes in place: a SetRow shows in the shared
// buffers of a batch made before it, a value it adds to a symbol's
// dictionary reaches the batches made after it, and a Truncate below the
// reader's count fails the batches past it.
func TestChangesInPlace(t *testing.T) {
	rng := rand.New(rand.NewPCG(seed(t), 8))
	dir, rows := makeTable(t, rng, 1000)
	w, err := table.Open[every](dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	r := openAny(t, dir, &table.Options{ReadOnly: true})

	rd, err := arrowtable.NewReader(r, &arrowtable.Options{BatchRows: 400})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Release()
	if !rd.Next() {
		t.Fatal(rd.Err())
	}
	first := rd.RecordBatch()
	first.Retain()
	defer first.Release()

	changed := rows[10]
	changed.I64 = -12345
	changed.Country = "a value new to the dictionary"
	if err := w.SetRow(10, changed); err != nil {
		t.Fatal(err)
	}
	late := rows[900]
	late.Country = "another new value"
	if err := w.SetRow(900, late); err != nil {
		t.Fatal(err)
	}
	if got := col[*array.Int64](t, first, "I64").Value(10); got != -12345 {
		t.Errorf("the shared I64 buffer shows %d after SetRow, want -12345", got)
	}
	// The first batch keeps the dictionary of when it was made; a batch
	// made after the SetRow carries the value it added.
	for range 2 { // to the batch of rows 800 to 1199
		if !rd.Next() {
			t.Fatal(rd.Err())
		}
	}
	third := rd.RecordBatch()
	country := col[*array.Dictionary](t, third, "Country")
	if got := country.Dictionary().(*array.String).Value(country.GetValueIndex(100)); got != "another new value" {
		t.Errorf("row 900: %q, want the value SetRow gave it", got)
	}

	// An IPC file carries one dictionary: a row set, while the file is
	// written, to a value new to the dictionary fails it; an IPC stream
	// sends the longer dictionary.
	for _, file := range []bool{true, false} {
		i := 0
		hook := &hookWriter{after: 1, do: func() error {
			i++
			return w.SetRow(950, every{Country: table.Symbol(fmt.Sprint("set while written ", file, i))})
		}}
		write := arrowtable.WriteIPCStream
		if file {
			write = arrowtable.WriteIPCFile
		}
		err := write(hook, r, &arrowtable.Options{BatchRows: 400})
		if file && (err == nil || !strings.Contains(err.Error(), "ictionary")) {
			t.Errorf("an IPC file whose dictionary grew while written: %v", err)
		}
		if !file && err != nil {
			t.Errorf("an IPC stream whose dictionary grew while written: %v", err)
		}
		if i != 1 {
			t.Fatalf("the hook ran %d times", i)
		}
	}

	rd2, err := arrowtable.NewReader(r, &arrowtable.Options{BatchRows: 400})
	if err != nil {
		t.Fatal(err)
	}
	defer rd2.Release()
	if !rd2.Next() {
		t.Fatal(rd2.Err())
	}
	if err := w.Truncate(500); err != nil {
		t.Fatal(err)
	}
	for rd2.Next() {
	}
	if err := rd2.Err(); !errors.Is(err, arrowtable.ErrShrunk) {
		t.Fatalf("batches past a Truncate: %v, want ErrShrunk", err)
	}
}

// hookWriter discards what is written and runs do once, after the write
// numbered after.
type hookWriter struct {
	after, n int
	do       func() error
}

func (h *hookWriter) Write(p []byte) (int, error) {
	h.n++
	if h.n == h.after+1 {
		if err := h.do(); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}
