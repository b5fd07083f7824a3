package table_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/mmapvec/persistence/internal/bootid"
	"github.com/mmapvec/persistence/internal/colfile"
	"github.com/mmapvec/persistence/table"
)

// FuzzReaders replaces a table's READERS page with arbitrary bytes and
// opens a reader: a typed error or a sound table, never a panic, a fault or
// a wait past the lock timeout. The sequence count is made even. With
// trusted, the page is made this boot's and this (running) process's, and,
// unless
// keepCheck, count words whose check bits are fixed, so that mutated row
// counts reach the checks behind them. Then a writer must open over it
// (the page holds no data: a writer rebuilds it), and a reader after it
// must see the table's rows. The seed corpus is testdata/fuzz/FuzzReaders;
// f.Add adds the real page.
func FuzzReaders(f *testing.F) {
	dir := fuzzTable(f)
	page, err := os.ReadFile(filepath.Join(dir, "READERS"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(page, true, false)
	f.Add(page, false, false)
	f.Add(page[:100], true, false)
	f.Add(make([]byte, 4096), true, true)
	f.Fuzz(func(t *testing.T, b []byte, trusted, keepCheck bool) {
		if len(b) > 8192 {
			b = b[:8192] // only the first page is ever read
		}
		b = append([]byte(nil), b...)
		if len(b) >= 56 {
			// An odd count of a running writer is waited for, a second per
			// input: the corruption matrix covers that case.
			ne.PutUint64(b[48:], ne.Uint64(b[48:])&^1)
		}
		if trusted && len(b) >= 80 {
			copy(b, "PREADER1")
			ne.PutUint32(b[8:], 1)
			boot := bootid.Current()
			copy(b[16:], boot[:])
			ne.PutUint64(b[32:], uint64(os.Getpid()))
			ne.PutUint64(b[72:], 1)
			if !keepCheck {
				for _, off := range []int{56, 64} {
					ne.PutUint64(b[off:], colfile.LiveWord(int(ne.Uint64(b[off:])&(1<<48-1))))
				}
			}
		}
		d := copyTable(t, dir)
		if err := os.WriteFile(filepath.Join(d, "READERS"), b, 0o644); err != nil {
			t.Fatal(err)
		}
		r, err := table.Open[fuzzRow](d, &table.Options{ReadOnly: true})
		if err == nil {
			for _, c := range table.Columns(r) {
				if c.Len != r.Len() || c.Cap < r.Len() {
					t.Fatalf("column %s: %d rows (cap %d), table %d", c.Name, c.Len, c.Cap, r.Len())
				}
			}
			rows := make([]fuzzRow, r.Len())
			if _, err := r.ReadRows(rows, 0); err != nil {
				t.Fatal(err)
			}
			err = r.Refresh()
			err = errors.Join(err, r.Close())
		}
		if err != nil && !typedOpenErr(err) && !errors.Is(err, table.ErrBusy) {
			t.Fatalf("untyped error %T: %v", err, err)
		}
		w, err := table.Open[fuzzRow](d, nil)
		if err != nil {
			t.Fatalf("a writer does not open over the page: %v", err)
		}
		defer w.Close()
		r, err = table.Open[fuzzRow](d, &table.Options{ReadOnly: true})
		if err != nil {
			t.Fatalf("a reader beside the writer that rebuilt the page: %v", err)
		}
		defer r.Close()
		if r.Len() != w.Len() || r.Recovered().Source != table.SourcePublished {
			t.Fatalf("reader: %d rows (%s), writer %d", r.Len(), r.Recovered().Source, w.Len())
		}
	})
}
