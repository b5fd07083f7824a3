package table_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/mmapvec/persistence"
	"github.com/mmapvec/persistence/internal/bootid"
	"github.com/mmapvec/persistence/table"
)

// walSeeds returns records for the table fuzzTable makes, whose COMMIT
// has sequence number seq: chains the real encoder wrote, so that the
// fuzzer starts from records that pass the checksum and are applied.
func walSeeds(seq, hash uint64) map[string][]byte {
	elem := func(size, n int, v byte) []byte {
		b := make([]byte, size*n)
		for i := range b {
			b[i] = v + byte(i)
		}
		return b
	}
	lens := func(n uint64) []uint64 { return []uint64{n, n, n} }
	appended := table.EncodeWALRecord(seq+1, hash, 22, lens(22), nil, []table.WALWrite{
		{File: 0, At: 20, Count: 2, Data: elem(8, 2, 1)},
		{File: 1, At: 20, Count: 2, Data: elem(4, 2, 2)},
		{File: 2, At: 20, Count: 2, Data: elem(6, 2, 3)},
	})
	inPlace := table.EncodeWALRecord(seq+2, hash, 21, lens(21), []byte("tick 7"), []table.WALWrite{
		{File: 0, At: 5, Count: 1, Data: elem(8, 1, 9)},
		{File: 2, At: 3, Count: 3, Data: elem(6, 3, 4)},
	})
	// Rows past the files' capacity, carried whole by the record.
	grown := table.EncodeWALRecord(seq+1, hash, 3000, lens(3000), nil, []table.WALWrite{
		{File: 0, At: 20, Count: 2980, Data: elem(8, 2980, 5)},
		{File: 1, At: 20, Count: 2980, Data: elem(4, 2980, 6)},
		{File: 2, At: 20, Count: 2980, Data: elem(6, 2980, 7)},
	})
	return map[string][]byte{
		"chain": append(append([]byte(nil), appended...), inPlace...),
		"one":   appended,
		"grown": grown,
		"stale": append(append([]byte(nil), inPlace...), appended...), // the chain starts at seq+2: nothing applies
		"empty": table.EncodeWALRecord(seq+1, hash, 20, lens(20), nil, nil),
	}
}

// FuzzWAL gives a table a write-ahead log whose record area holds
// arbitrary bytes, and opens it writable and read-only, in the writer's
// boot and after a restart (when the records are applied, or checked by
// a reader): nil or a typed error (ErrCorrupt, ErrNeedsRecovery), never a
// panic, a hang or an allocation beyond the log's size. Unless keepCRC,
// the checksum of each record is recomputed as the writer does, so that
// mutated sequence numbers, hashes, row counts, lengths and writes reach
// the checks behind it. Afterwards, with the log removed, the table must
// open. The seeds are chains of records the real encoder wrote.
func FuzzWAL(f *testing.F) {
	dir := fuzzTable(f)
	seeds := walSeedsOf(f, dir)
	for _, name := range []string{"chain", "one", "grown", "stale", "empty"} {
		f.Add(seeds[name], false, true, false)
		f.Add(seeds[name], true, true, false)
	}
	f.Add(seeds["chain"], false, false, false)
	f.Add(seeds["chain"][:100], true, true, true)
	f.Fuzz(func(t *testing.T, rec []byte, readOnly, reboot, keepCRC bool) {
		if len(rec) > 64<<10 {
			rec = rec[:64<<10] // the checks are per record: longer logs add time, not cases
		}
		rec = append([]byte(nil), rec...)
		if !keepCRC {
			table.FixWALRecordCRCs(rec)
		}
		d := copyTable(t, dir)
		writeWAL(t, d, rec)
		openFuzzed(t, d, readOnly, reboot)
		if err := os.Remove(filepath.Join(d, "WAL")); err != nil {
			t.Fatal(err)
		}
		tb, err := table.Open[fuzzRow](d, nil)
		if err != nil {
			t.Fatalf("with the log removed, the table does not open: %v", err)
		}
		defer tb.Close()
		for i := range tb.Len() {
			_ = tb.Row(i)
		}
	})
}

// walSeedsOf returns the seeds for the table in dir.
func walSeedsOf(tb testing.TB, dir string) map[string][]byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "COMMIT"))
	if err != nil {
		tb.Fatal(err)
	}
	seq := max(ne.Uint64(b[8:]), ne.Uint64(b[table.SlotBytes(fuzzCols)+8:]))
	man, err := persistence.ReadManifest(dir)
	if err != nil {
		tb.Fatal(err)
	}
	return walSeeds(seq, man.Hash())
}

// TestWALSeedsApply: FuzzWAL's seeds are applied after a restart, as many
// records as each chain holds, or the fuzzer would learn nothing past the
// checksum.
func TestWALSeedsApply(t *testing.T) {
	dir := fuzzTable(t)
	seeds := walSeedsOf(t, dir)
	// The seeds must reach the records' application, or the fuzzer
	// learns nothing past the checksum.
	for name, want := range map[string]int{"chain": 2, "grown": 1, "stale": 0} {
		d := copyTable(t, dir)
		writeWAL(t, d, seeds[name])
		bootid.Override("fuzz reboot")
		tb, err := table.Open[fuzzRow](d, nil)
		bootid.Override("")
		if err != nil {
			t.Fatalf("seed %s: %v", name, err)
		}
		if got := tb.Recovered().Replayed; got != want {
			t.Fatalf("seed %s: %d records applied, want %d (recovery: %s)", name, got, want, tb.Recovered())
		}
		tb.Close()
	}
}

// writeWAL makes dir's log: two empty meta slots, then recs.
func writeWAL(tb testing.TB, dir string, recs []byte) {
	tb.Helper()
	b := make([]byte, table.WALRecordsAt+len(recs))
	copy(b[table.WALRecordsAt:], recs)
	if err := os.WriteFile(filepath.Join(dir, "WAL"), b, 0o644); err != nil {
		tb.Fatal(err)
	}
}

// TestWALLiveChainPastFiles: a log whose chain claims more rows than the
// column files hold, opened in the writer's boot (when records are not
// applied) and closed. The open must refuse it or keep the table as the
// files hold it: the table must open again once the log is removed. Found
// by FuzzWAL.
func TestWALLiveChainPastFiles(t *testing.T) {
	dir := fuzzTable(t)
	d := copyTable(t, dir)
	writeWAL(t, d, walSeedsOf(t, dir)["grown"])
	tb, err := table.Open[fuzzRow](d, nil)
	if err != nil {
		if !typedOpenErr(err) {
			t.Fatalf("untyped error %T: %v", err, err)
		}
	} else if err := tb.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(d, "WAL")); err != nil {
		t.Fatal(err)
	}
	tb, err = table.Open[fuzzRow](d, nil)
	if err != nil {
		t.Fatalf("with the log removed, the table does not open: %v", err)
	}
	tb.Close()
}
