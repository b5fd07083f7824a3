// Concurrency: readers of a Vec and of a table while one goroutine
// appends across growth, and a Sync whose column flushes run in parallel.

package torture_test

import (
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/mmapvec/persistence/mmap"
	"github.com/mmapvec/persistence/table"
)

// TestVecConcurrentReaders: one goroutine appends across several growth
// steps (each remaps the file's tail in place) and hands each new slice to
// readers, which check every element of it while later appends go on.
// Run under -race (CI does) this also proves the hand-over is ordered.
func TestVecConcurrentReaders(t *testing.T) {
	track(t)
	v, err := mmap.Open[row](vecPath(t.TempDir()), vecOpts)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	total := counts{short: 20_000, race: 100_000, def: 200_000, long: 1_000_000}.n()
	var latest atomic.Pointer[[]row]
	var done atomic.Bool
	readers := 4
	checked := make([]int, readers)
	errs := make(chan error, readers)
	var wg sync.WaitGroup
	for r := range readers {
		wg.Go(func() {
			for last := false; !last; {
				last = done.Load()
				s := latest.Load()
				if s == nil {
					continue
				}
				for i, x := range *s {
					if x != mkRow(uint64(i), valOf(uint64(i))) {
						errs <- fmt.Errorf("reader %d: element %d of %d is %+v", r, i, len(*s), x)
						return
					}
				}
				checked[r] += len(*s)
			}
		})
	}
	batch := make([]row, 997)
	for n := 0; n < total; n += len(batch) {
		for j := range batch {
			batch[j] = mkRow(uint64(n+j), valOf(uint64(n+j)))
		}
		if err := v.Append(batch...); err != nil {
			t.Fatal(err)
		}
		s := v.Slice()
		latest.Store(&s)
	}
	done.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for r, n := range checked {
		if n < v.Len() {
			t.Fatalf("reader %d checked %d elements, fewer than the final %d", r, n, v.Len())
		}
	}
	t.Logf("%d readers checked %v elements while %d were appended (capacity now %d)", readers, checked, v.Len(), v.Cap())
}

// TestTableConcurrentReaders: one goroutine appends rows (single and in
// batches, across column growth) while readers check every column through
// its view: each element matches its row, at any length they see.
func TestTableConcurrentReaders(t *testing.T) {
	track(t)
	tb, err := openTable(filepath.Join(t.TempDir(), "t"), false)
	if err != nil {
		t.Fatal(err)
	}
	defer tb.Close()
	id, err1 := table.Column[uint64](tb, "ID")
	val, err2 := table.Column[uint64](tb, "V")
	sum, err3 := table.Column[uint64](tb, "Sum")
	if err1 != nil || err2 != nil || err3 != nil {
		t.Fatal(err1, err2, err3)
	}
	total := counts{short: 15_000, race: 75_000, def: 150_000, long: 600_000}.n()
	var done atomic.Bool
	readers := 4
	checked := make([]int, readers)
	errs := make(chan error, readers)
	var wg sync.WaitGroup
	for r := range readers {
		wg.Go(func() {
			for last := false; !last; {
				last = done.Load()
				ids, vals, sums := id.Slice(), val.Slice(), sum.Slice()
				n := min(len(ids), len(vals), len(sums))
				for i := range n {
					want := mkTRow(uint64(i), valOf(uint64(i)))
					if ids[i] != want.ID || vals[i] != want.V || sums[i] != want.Sum {
						errs <- fmt.Errorf("reader %d: row %d of %d: ID %d V %d Sum %d", r, i, n, ids[i], vals[i], sums[i])
						return
					}
				}
				checked[r] += n
			}
		})
	}
	batch := make([]trow, 1500)
	for n := 0; n < total; {
		if n%7 == 0 {
			if err := tb.Append(mkTRow(uint64(n), valOf(uint64(n)))); err != nil {
				t.Fatal(err)
			}
			n++
			continue
		}
		for j := range batch {
			batch[j] = mkTRow(uint64(n+j), valOf(uint64(n+j)))
		}
		if err := tb.AppendRows(batch); err != nil {
			t.Fatal(err)
		}
		n += len(batch)
	}
	done.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for r, n := range checked {
		if n < tb.Len() {
			t.Fatalf("reader %d checked %d rows, fewer than the final %d", r, n, tb.Len())
		}
	}
	t.Logf("%d readers checked %v rows while %d were appended", readers, checked, tb.Len())
}

// TestTableSyncMixedFlushes makes a Sync flush some columns fully (in
// parallel goroutines) and write the others back: ID, V and Sum start a
// new page, A and B stay in pages an earlier Sync made durable. Under
// -race this is where a shared error slice was appended to while the
// flush goroutines stored into it (a flush error could be lost).
func TestTableSyncMixedFlushes(t *testing.T) {
	track(t)
	tb, err := openTable(filepath.Join(t.TempDir(), "table"), false)
	if err != nil {
		t.Fatal(err)
	}
	defer tb.Close()
	const n = 3 * 512 // 8-byte columns end on a page boundary, 4- and 6-byte ones inside a page
	rows := make([]trow, n)
	for i := range rows {
		rows[i] = mkTRow(uint64(i), valOf(uint64(i)))
	}
	if err := tb.AppendRows(rows); err != nil {
		t.Fatal(err)
	}
	if err := tb.Sync(); err != nil {
		t.Fatal(err)
	}
	for k := range 20 {
		if err := tb.Append(mkTRow(uint64(n+k), valOf(uint64(n+k)))); err != nil {
			t.Fatal(err)
		}
		if err := tb.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	if tb.Len() != n+20 {
		t.Fatalf("%d rows, want %d", tb.Len(), n+20)
	}
}
