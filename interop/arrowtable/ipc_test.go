package arrowtable_test

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/mmapvec/persistence/interop/arrowtable"
	"github.com/mmapvec/persistence/table"
)

// An IPC file and an IPC stream of a table, read back with arrow-go's
// readers, hold the table's rows.
func TestIPC(t *testing.T) {
	rng := rand.New(rand.NewPCG(seed(t), 5))
	dir, rows := makeTable(t, rng, 1500)
	tb := openAny(t, dir, &table.Options{ReadOnly: true})
	opts := &arrowtable.Options{BatchRows: 400}

	check := func(t *testing.T, next func() (arrow.RecordBatch, bool)) {
		at := 0
		for {
			rec, ok := next()
			if !ok {
				break
			}
			if rec.NumRows() > 400 {
				t.Fatalf("a batch of %d rows", rec.NumRows())
			}
			for j := range int(rec.NumRows()) {
				checkRow(t, rec, j, rows[at+j], at+j)
			}
			at += int(rec.NumRows())
		}
		if at != len(rows) {
			t.Fatalf("read %d rows, want %d", at, len(rows))
		}
	}
	t.Run("file", func(t *testing.T) {
		var buf bytes.Buffer
		if err := arrowtable.WriteIPCFile(&buf, tb, opts); err != nil {
			t.Fatal(err)
		}
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		defer mem.AssertSize(t, 0)
		fr, err := ipc.NewFileReader(bytes.NewReader(buf.Bytes()), ipc.WithAllocator(mem))
		if err != nil {
			t.Fatal(err)
		}
		defer fr.Close()
		if fr.NumRecords() != 4 {
			t.Fatalf("%d batches, want 4", fr.NumRecords())
		}
		i := 0
		check(t, func() (arrow.RecordBatch, bool) {
			if i == fr.NumRecords() {
				return nil, false
			}
			rec, err := fr.RecordBatch(i)
			if err != nil {
				t.Fatal(err)
			}
			i++
			return rec, true
		})
	})
	t.Run("stream", func(t *testing.T) {
		var buf bytes.Buffer
		if err := arrowtable.WriteIPCStream(&buf, tb, opts); err != nil {
			t.Fatal(err)
		}
		sr, err := ipc.NewReader(&buf)
		if err != nil {
			t.Fatal(err)
		}
		defer sr.Release()
		check(t, func() (arrow.RecordBatch, bool) {
			if !sr.Next() {
				if err := sr.Err(); err != nil {
					t.Fatal(err)
				}
				return nil, false
			}
			return sr.RecordBatch(), true
		})
	})
}
