package table_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/mmapvec/persistence"
	"github.com/mmapvec/persistence/mmap"
	"github.com/mmapvec/persistence/table"
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
	t, err := table.Open[fuzzRow](dir, nil)
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
		persistence.ErrManifest, mmap.ErrCorrupt, mmap.ErrByteOrder, mmap.ErrFormatVersion, mmap.ErrTag,
		mmap.ErrDataVersion, mmap.ErrElemType, mmap.ErrTooLarge, table.ErrLocked} {
		if errors.Is(err, e) {
			return true
		}
	}
	var pe *fs.PathError
	return errors.As(err, &pe)
}

// openFuzzed opens dir read-only and writable, as after a reboot or not:
// each open fails with a typed error or shows equal columns whose rows it
// can read.
func openFuzzed(t *testing.T, dir string, readOnly bool) {
	tb, err := table.Open[fuzzRow](dir, &table.Options{ReadOnly: readOnly})
	if err != nil {
		if !typedOpenErr(err) {
			t.Fatalf("read-only %v: untyped error %T: %v", readOnly, err, err)
		}
		return
	}
	defer tb.Close()
	for _, c := range tb.Columns() {
		if c.Len() != tb.Len() || c.Raw().Len() != tb.Len() || c.Raw().Cap() < tb.Len() {
			t.Fatalf("read-only %v: column %s: %d rows, file %d (cap %d), table %d", readOnly, c.Name(), c.Len(), c.Raw().Len(), c.Raw().Cap(), tb.Len())
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
// it: a typed error or a sound table, never a panic or a fault. The seed
// corpus is testdata/fuzz/FuzzCommit; f.Add adds the real file.
func FuzzCommit(f *testing.F) {
	dir := fuzzTable(f)
	commit, err := os.ReadFile(filepath.Join(dir, "COMMIT"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(commit, false)
	f.Add(commit, true)
	f.Add(commit[:512], false)
	f.Fuzz(func(t *testing.T, b []byte, readOnly bool) {
		d := copyTable(t, dir)
		if err := os.WriteFile(filepath.Join(d, "COMMIT"), b, 0o644); err != nil {
			t.Fatal(err)
		}
		openFuzzed(t, d, readOnly)
	})
}

// FuzzTableDir applies byte edits to every file of a table directory: each
// 4 bytes of ops are (file, offset high, offset low, value), and an offset
// high byte of 0xff truncates the file at the low byte's multiple of 64
// instead. Then the table is opened: a typed error or a sound table.
func FuzzTableDir(f *testing.F) {
	dir := fuzzTable(f)
	f.Add([]byte{}, false)
	f.Add([]byte{0, 0, 0, 'X'}, false)
	f.Add([]byte{1, 0, 20, 0xff, 2, 0, 130, 7}, true)
	f.Add([]byte{3, 0xff, 1, 0}, false)
	f.Fuzz(func(t *testing.T, ops []byte, readOnly bool) {
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
		openFuzzed(t, d, readOnly)
	})
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
