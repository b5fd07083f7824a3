package table_test

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/mmapvec/persistence"
	"github.com/mmapvec/persistence/internal/bootid"
	"github.com/mmapvec/persistence/mmap"
	"github.com/mmapvec/persistence/table"
)

var (
	ne         = binary.NativeEndian
	castagnoli = crc32.MakeTable(crc32.Castagnoli)
)

// fuzzRow has columns of three sizes.
type fuzzRow struct {
	A uint64
	B int32
	C [3]uint16
}

// fuzzTable makes a closed table of 20 synced rows plus 5 more appended
// after the Sync, and returns its directory.
func fuzzTable(tb testing.TB) string {
	tb.Helper()
	dir := filepath.Join(tb.TempDir(), "t")
	t, err := table.Open[fuzzRow](dir, &table.Options{LogSize: table.MinLogSize}) // copied at every run: a small log
	if err != nil {
		tb.Fatal(err)
	}
	for i := range 25 {
		if err := t.Append(fuzzRow{A: uint64(i), B: int32(-i), C: [3]uint16{uint16(i), 1, 2}}); err != nil {
			tb.Fatal(err)
		}
		if i == 19 {
			if err := t.Sync(); err != nil {
				tb.Fatal(err)
			}
		}
	}
	if err := t.Close(); err != nil {
		tb.Fatal(err)
	}
	return dir
}

// typedOpenErr reports whether err is one a caller can act on: a sentinel
// of this package or the layers below, or a *fs.PathError from the OS.
func typedOpenErr(err error) bool {
	for _, e := range []error{table.ErrCorrupt, table.ErrNotTable, table.ErrNeedsRecovery, table.ErrArch, table.ErrSchema,
		persistence.ErrManifest, table.ErrCorrupt, mmap.ErrByteOrder, mmap.ErrFormatVersion, mmap.ErrTag,
		mmap.ErrDataVersion, table.ErrElemType, mmap.ErrTooLarge, table.ErrLocked} {
		if errors.Is(err, e) {
			return true
		}
	}
	var pe *fs.PathError
	return errors.As(err, &pe)
}

// openFuzzed opens dir read-only or writable, as after a reboot or not:
// the open fails with a typed error or shows equal columns whose rows it
// can read.
func openFuzzed(t *testing.T, dir string, readOnly, reboot bool) {
	if reboot {
		bootid.Override("fuzz reboot")
		defer bootid.Override("")
	}
	tb, err := table.Open[fuzzRow](dir, &table.Options{ReadOnly: readOnly})
	if err != nil {
		if !typedOpenErr(err) {
			t.Fatalf("read-only %v: untyped error %T: %v", readOnly, err, err)
		}
		return
	}
	defer tb.Close()
	for _, c := range table.Columns(tb) {
		if c.Len != tb.Len() || c.FileLen != tb.Len() || c.Cap < tb.Len() {
			t.Fatalf("read-only %v: column %s: %d rows, file %d (cap %d), table %d", readOnly, c.Name, c.Len, c.FileLen, c.Cap, tb.Len())
		}
	}
	for i := range tb.Len() {
		_ = tb.Row(i)
	}
	if !readOnly {
		if err := tb.Append(fuzzRow{A: 99}); err != nil {
			t.Fatalf("append after open: %v", err)
		}
	}
}

// FuzzCommit replaces a table's COMMIT file with arbitrary bytes and opens
// it: a typed error or a sound table, never a panic or a fault. Unless
// keepCRC, each slot's checksum is recomputed as the writer does, so that
// mutated numbers (row counts, column counts, lengths) reach the checks
// behind it; reboot opens as after a restart, when the committed count is
// the one used. Afterwards the real COMMIT must open again: no open wrote
// into a column's header or past its rows. The seed corpus is
// testdata/fuzz/FuzzCommit; f.Add adds the real file.
func FuzzCommit(f *testing.F) {
	dir := fuzzTable(f)
	commit, err := os.ReadFile(filepath.Join(dir, "COMMIT"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(commit, false, false, false)
	f.Add(commit, true, true, false)
	f.Add(commit[:512], false, false, true)
	f.Fuzz(func(t *testing.T, b []byte, readOnly, reboot, keepCRC bool) {
		d := copyTable(t, dir)
		if !keepCRC {
			table.FixCommitCRCs(b, fuzzCols)
		}
		if err := os.WriteFile(filepath.Join(d, "COMMIT"), b, 0o644); err != nil {
			t.Fatal(err)
		}
		openFuzzed(t, d, readOnly, reboot)
		if err := os.WriteFile(filepath.Join(d, "COMMIT"), commit, 0o644); err != nil {
			t.Fatal(err)
		}
		reopenClean(t, d)
	})
}

// FuzzJournal replaces a table's JOURNAL with arbitrary bytes whose record
// checksum is recomputed as the writer does (unless keepCRC), so that
// every intent's operation, index and row counts reach recovery: a typed
// error or a sound table. Afterwards, with the JOURNAL removed, the table
// must open: nothing was written outside its rows. The seed corpus is
// testdata/fuzz/FuzzJournal; f.Add adds an intent of each kind.
func FuzzJournal(f *testing.F) {
	dir := fuzzTable(f)
	b, err := os.ReadFile(filepath.Join(dir, "COMMIT"))
	if err != nil {
		f.Fatal(err)
	}
	seq := max(ne.Uint64(b[8:]), ne.Uint64(b[table.SlotBytes(fuzzCols)+8:]))
	row := make([]byte, fuzzRowSize)
	f.Add(table.EncodeIntent(1, seq, 3, hostileRows, row), false, false, false)
	f.Add(table.EncodeIntent(2, seq, 3, hostileRows, row), true, false, false)
	f.Add(table.EncodeIntent(3, seq, 10, hostileRows, row), false, true, false)
	f.Add(table.EncodeIntent(1, seq, ^uint64(0), hostileRows, row), false, false, false)
	f.Fuzz(func(t *testing.T, b []byte, readOnly, reboot, keepCRC bool) {
		if len(b) > 2*table.JournalSize(fuzzRowSize) {
			// Larger files are refused by size alone; the fuzzer's time is
			// better spent on contents.
			b = b[:2*table.JournalSize(fuzzRowSize)]
		}
		d := copyTable(t, dir)
		if !keepCRC {
			table.FixJournalCRC(b, fuzzRowSize)
		}
		if err := os.WriteFile(filepath.Join(d, "JOURNAL"), b, 0o644); err != nil {
			t.Fatal(err)
		}
		openFuzzed(t, d, readOnly, reboot)
		if err := os.Remove(filepath.Join(d, "JOURNAL")); err != nil {
			t.Fatal(err)
		}
		reopenClean(t, d)
	})
}

// reopenClean opens a table whose hostile file was put right: it must
// open, with every column as long as the table (a redo may have changed
// or removed rows, never the files' headers).
func reopenClean(t *testing.T, dir string) {
	t.Helper()
	tb, err := table.Open[fuzzRow](dir, nil)
	if err != nil {
		t.Fatalf("with the hostile file put right, the table does not open: %v", err)
	}
	defer tb.Close()
	if tb.Len() > hostileRows+1 {
		t.Fatalf("%d rows, the table never had more than %d", tb.Len(), hostileRows+1)
	}
	for i := range tb.Len() {
		_ = tb.Row(i)
	}
}

// FuzzTableDir applies byte edits to every file of a table directory: each
// 4 bytes of ops are (file, offset high, offset low, value), and an offset
// high byte of 0xff truncates the file at the low byte's multiple of 64
// instead. With fix, every checksum is then recomputed as the writers do
// (COMMIT slots, the JOURNAL record, each column's header CRC, live length
// check bits and commit slots), so that edits reach the code behind them.
// Then the table is opened: a typed error or a sound table.
func FuzzTableDir(f *testing.F) {
	dir := fuzzTable(f)
	f.Add([]byte{}, false, false)
	f.Add([]byte{0, 0, 0, 'X'}, false, false)
	f.Add([]byte{1, 0, 20, 0xff, 2, 0, 130, 7}, true, true)
	f.Add([]byte{3, 0xff, 1, 0}, false, false)
	f.Fuzz(func(t *testing.T, ops []byte, readOnly, fix bool) {
		d := copyTable(t, dir)
		entries, err := os.ReadDir(d)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+4 <= len(ops) && i < 64; i += 4 {
			path := filepath.Join(d, entries[int(ops[i])%len(entries)].Name())
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if ops[i+1] == 0xff {
				b = b[:min(len(b), 64*int(ops[i+2]))]
			} else if len(b) > 0 {
				b[(int(ops[i+1])<<8|int(ops[i+2]))%len(b)] = ops[i+3]
			}
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if fix {
			fixChecksums(t, d)
		}
		openFuzzed(t, d, readOnly, false)
	})
}

// fixChecksums recomputes every checksum in a table directory as the
// writers compute them (FORMAT.md).
func fixChecksums(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case e.Name() == "COMMIT":
			table.FixCommitCRCs(b, fuzzCols)
		case e.Name() == "JOURNAL":
			table.FixJournalCRC(b, fuzzRowSize)
		case filepath.Ext(e.Name()) == ".col":
			fixColumnHeader(b)
		default:
			continue
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// fixColumnHeader recomputes a column header's checksums (FORMAT.md):
// the header CRC of [0, 48) at 64, the live length word's check bits at
// 128, and the two commit slots at 192 and 224.
func fixColumnHeader(b []byte) {
	if len(b) < 256 {
		return
	}
	ne.PutUint32(b[64:], crc32.Checksum(b[:48], castagnoli))
	n := ne.Uint64(b[128:]) & (1<<48 - 1)
	check := uint16(n) ^ uint16(n>>16) ^ uint16(n>>32) ^ 0xA55A
	ne.PutUint64(b[128:], n|uint64(check)<<48)
	for idx, off := range []int{192, 224} {
		c := crc32.Update(crc32.Checksum(b[off:off+16], castagnoli), castagnoli, []byte{byte(idx)})
		ne.PutUint32(b[off+16:], c)
	}
}

func copyTable(t *testing.T, from string) string {
	t.Helper()
	to := filepath.Join(t.TempDir(), "t")
	if err := os.Mkdir(to, 0o755); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return to
}

// FuzzTableManifest replaces a table's manifest.json with arbitrary bytes.
// A manifest that parses gets a COMMIT re-sealed with its hash (the
// commit's check on the manifest), so that its numbers (row size, offsets,
// layouts, arch) reach the open behind that check. The table is opened as
// table.Any, whose columns come from the manifest: a typed error or a
// sound table. The seed corpus is testdata/fuzz/FuzzTableManifest; f.Add
// adds the real manifest.
func FuzzTableManifest(f *testing.F) {
	dir := fuzzTable(f)
	man, err := os.ReadFile(filepath.Join(dir, persistence.ManifestFile))
	if err != nil {
		f.Fatal(err)
	}
	commit, err := os.ReadFile(filepath.Join(dir, "COMMIT"))
	if err != nil {
		f.Fatal(err)
	}
	size := table.SlotBytes(fuzzCols)
	seq, rows := ne.Uint64(commit[8:]), ne.Uint64(commit[16:])
	if s1 := ne.Uint64(commit[size+8:]); s1 > seq {
		seq, rows = s1, ne.Uint64(commit[size+16:])
	}
	f.Add(man, false)
	f.Add(man, true)
	f.Fuzz(func(t *testing.T, b []byte, readOnly bool) {
		if len(b) > 1<<16 {
			return // larger manifests only cost the fuzzer time; size limits have their own test
		}
		d := copyTable(t, dir)
		if err := os.WriteFile(filepath.Join(d, persistence.ManifestFile), b, 0o644); err != nil {
			t.Fatal(err)
		}
		if m, err := persistence.ParseManifest(persistence.ManifestFile, b); err == nil && len(m.Columns) <= 64 {
			lens := make([]uint64, len(m.Columns))
			for i := range lens {
				lens[i] = rows
			}
			c := append(table.EncodeCommit(0, seq, rows, m.Hash(), lens), table.EncodeCommit(1, seq-1, rows, m.Hash(), lens)...)
			if err := os.WriteFile(filepath.Join(d, "COMMIT"), c, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		tb, err := table.Open[table.Any](d, &table.Options{ReadOnly: readOnly})
		if err != nil {
			if !typedOpenErr(err) {
				t.Fatalf("read-only %v: untyped error %T: %v", readOnly, err, err)
			}
			return
		}
		defer tb.Close()
		for _, c := range table.Columns(tb) {
			if c.Len != tb.Len() || c.Cap < tb.Len() {
				t.Fatalf("read-only %v: column %s: %d rows (cap %d), table %d", readOnly, c.Name, c.Len, c.Cap, tb.Len())
			}
			for i := range c.Len {
				_ = c.ElemBytes(i)
			}
		}
	})
}
