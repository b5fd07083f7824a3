package table_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/mmapvec/persistence/internal/bootid"
	"github.com/mmapvec/persistence/table"
)

// fuzzStrRow has a column of each variable-length kind.
type fuzzStrRow struct {
	A uint64
	S string
	B []byte
	Y table.Symbol
}

const (
	fuzzStrRows    = 12
	fuzzStrEntries = 4 + 3 // COMMIT: four row counts, three extents
	colHeader      = 4096
	liveWordAt     = 128
)

func mkFuzzStr(i int) fuzzStrRow {
	r := fuzzStrRow{A: uint64(i), S: fmt.Sprintf("s%d-%s", i, string(make([]byte, i%5))), Y: table.Symbol([]string{"", "aa", "bbb", "c"}[i%4])}
	if i%3 != 0 {
		r.B = []byte(fmt.Sprint("bytes ", i))
	}
	return r
}

// fuzzStrTargets are the files FuzzStrings patches: the element columns,
// the heaps, the dictionary's two files, and COMMIT (last).
var fuzzStrTargets = []string{"S.col", "B.col", "Y.col", "S.bytes", "B.bytes", "Y.sym", "Y.symbytes", "COMMIT"}

// fuzzStrTable makes a closed table of fuzzStrRows rows: 8 synced, then
// row 2 set (its new values past the commit) and 4 rows appended without
// a Sync, so that both the live and the committed extents have rows past
// them. It returns the directory and the numbers worth writing into its
// files: each extent and its neighbours, and the edges of integer sizes.
func fuzzStrTable(tb testing.TB) (string, []uint64) {
	tb.Helper()
	dir := filepath.Join(tb.TempDir(), "t")
	t, err := table.Open[fuzzStrRow](dir, &table.Options{LogSize: table.MinLogSize}) // copied at every run: a small log
	if err != nil {
		tb.Fatal(err)
	}
	for i := range fuzzStrRows {
		if err := t.Append(mkFuzzStr(i)); err != nil {
			tb.Fatal(err)
		}
		if i == 7 {
			if err := errors.Join(t.Sync(), t.SetRow(2, fuzzStrRow{S: "set after the sync", Y: "new"})); err != nil {
				tb.Fatal(err)
			}
		}
	}
	if err := t.Close(); err != nil {
		tb.Fatal(err)
	}
	nums := []uint64{0, 1, 2, 4095, 4096, 4097, 1<<31 - 1, 1 << 31, 1<<32 - 1, 1 << 32, 1 << 40, 1<<48 - 1, 1 << 48, 1 << 62, 1 << 63, 1<<64 - 1}
	for _, name := range []string{"S.bytes", "B.bytes", "Y.sym", "Y.symbytes"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			tb.Fatal(err)
		}
		n := ne.Uint64(b[liveWordAt:]) & (1<<48 - 1)
		nums = append(nums, n-1, n, n+1)
	}
	return dir, nums
}

// FuzzStrings patches the files of a table with string, bytes and symbol
// columns and opens it read-only and writable, as its own type and as
// table.Any, in the boot that wrote it or (reboot) after a restart. Each 4
// bytes of ops are (file, what, where, value) with file one of
// fuzzStrTargets and what:
//
//	0  the byte at element offset where is value
//	1  the 8-byte word at element offset 8*where is number value of
//	   fuzzStrTable's (COMMIT: row count or extent where%7 of slot
//	   where/7%2)
//	2  the live length word is number value
//	3  the header byte where is value
//
// and in COMMIT, 0, 2 and 3 set byte where of its first slot.
//
// Unless keepSums, every checksum is then recomputed as the writers do
// (header CRCs, live word check bits, COMMIT slot CRCs), so that the
// patches reach the checks behind them. Every open fails with a typed
// error or gives a sound table: each row and view value reads without a
// panic or fault, and each value is bytes of its heap or dictionary. A
// table a writer opened takes an append and a Sync, and opens again.
func FuzzStrings(f *testing.F) {
	dir, nums := fuzzStrTable(f)
	// Numbers by index: 0-15 the fixed ones, then n-1, n, n+1 of the
	// live lengths of S.bytes (16-18), B.bytes (19-21), Y.sym (22-24) and
	// Y.symbytes (25-27).
	f.Add([]byte{}, false, false)
	f.Add([]byte{}, true, false)
	f.Add([]byte{0, 1, 5, 18}, false, false)              // S row 2's end one past the heap's frontier
	f.Add([]byte{0, 1, 5, 18}, true, false)               // the same after a restart
	f.Add([]byte{0, 1, 4, 15, 0, 1, 5, 0}, false, false)  // S row 2's span from 2^64-1 to 0
	f.Add([]byte{2, 0, 32, 9}, false, false)              // Y row 8's code 9, past the dictionary
	f.Add([]byte{5, 1, 1, 0}, false, false)               // Y.sym entry 1 ends at 0: the offsets decrease
	f.Add([]byte{5, 1, 3, 11}, false, false)              // Y.sym's last entry ends at 2^48-1
	f.Add([]byte{3, 2, 0, 11}, false, false)              // S.bytes' live length 2^48-1 (check bits fixed)
	f.Add([]byte{3, 2, 0, 11}, false, true)               // the same, check bits kept
	f.Add([]byte{6, 2, 0, 10}, false, false)              // Y.symbytes' live length 2^40
	f.Add([]byte{5, 2, 0, 24}, false, false)              // Y.sym's live count one past its entries
	f.Add([]byte{7, 1, 4, 14, 7, 1, 11, 14}, true, false) // COMMIT's S extent 2^63 in both slots, after a restart
	f.Add([]byte{7, 1, 6, 24, 7, 1, 13, 24}, true, false) // COMMIT's dictionary count one past the entries
	f.Add([]byte{4, 3, 28, 8}, false, false)              // B.bytes' element size 8
	f.Fuzz(func(t *testing.T, ops []byte, reboot, keepSums bool) {
		d := copyTable(t, dir)
		files := map[string][]byte{}
		for _, name := range fuzzStrTargets {
			b, err := os.ReadFile(filepath.Join(d, name))
			if err != nil {
				t.Fatal(err)
			}
			files[name] = b
		}
		for i := 0; i+4 <= len(ops) && i < 64; i += 4 {
			name := fuzzStrTargets[int(ops[i])%len(fuzzStrTargets)]
			patchStr(files[name], name == "COMMIT", ops[i+1]%4, int(ops[i+2]), ops[i+3], nums)
		}
		for name, b := range files {
			if !keepSums {
				if name == "COMMIT" {
					table.FixCommitCRCs(b, fuzzStrEntries)
				} else {
					fixColumnHeader(b)
				}
			}
			if err := os.WriteFile(filepath.Join(d, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if reboot {
			bootid.Override("fuzz strings reboot")
			defer bootid.Override("")
		}
		// The typed writer last: it appends.
		openFuzzedStrings[fuzzStrRow](t, d, true)
		openFuzzedStrings[table.Any](t, d, true)
		openFuzzedStrings[table.Any](t, d, false)
		openFuzzedStrings[fuzzStrRow](t, d, false)
	})
}

// patchStr applies one patch of FuzzStrings to file b.
func patchStr(b []byte, commit bool, what uint8, where int, v byte, nums []uint64) {
	put := func(off int, x uint64) {
		if off >= 0 && off+8 <= len(b) {
			ne.PutUint64(b[off:], x)
		}
	}
	set := func(off int) {
		if off < len(b) {
			b[off] = v
		}
	}
	x := nums[int(v)%len(nums)]
	switch {
	case commit && what == 1:
		slot := table.SlotBytes(fuzzStrEntries)
		put(where/fuzzStrEntries%2*slot+40+8*(where%fuzzStrEntries), x)
	case commit:
		set(where)
	case what == 0:
		set(colHeader + where)
	case what == 1:
		put(colHeader+8*where, x)
	case what == 2:
		put(liveWordAt, x) // fixColumnHeader recomputes the check bits of its low 48 bits
	case what == 3:
		set(where)
	}
}

// openFuzzedStrings opens dir as a Table[R]: a typed error, or a table
// whose every row and view value reads, each a value of its heap or
// dictionary. A writer's table then takes an append and a Sync, and opens
// again, read-only.
func openFuzzedStrings[R any](t *testing.T, dir string, ro bool) {
	tb, err := table.Open[R](dir, &table.Options{ReadOnly: ro})
	if err != nil {
		if !typedOpenErr(err) {
			t.Fatalf("read-only %v, %T: untyped error %T: %v", ro, *new(R), err, err)
		}
		return
	}
	defer tb.Close()
	what := fmt.Sprintf("read-only %v, %T", ro, *new(R))
	n := tb.Len()
	if n > fuzzStrRows {
		t.Fatalf("%s: %d rows, the table never had more than %d", what, n, fuzzStrRows)
	}
	for _, c := range table.Columns(tb) {
		if c.Len != n || c.Cap < n {
			t.Fatalf("%s: column %s: %d rows (cap %d), table %d", what, c.Name, c.Len, c.Cap, n)
		}
	}
	heap := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b[min(len(b), colHeader):]
	}
	within := func(kind, v string, in []byte) {
		if len(v) > len(in) || !bytes.Contains(in, []byte(v)) {
			t.Fatalf("%s: %s value of %d bytes %q is no bytes of its file (%d bytes)", what, kind, len(v), v, len(in))
		}
	}
	sHeap, bHeap, yBytes := heap("S.bytes"), heap("B.bytes"), heap("Y.symbytes")
	s, err1 := table.Strings(tb, "S")
	b, err2 := table.Strings(tb, "B")
	y, err3 := table.Symbols(tb, "Y")
	if err := errors.Join(err1, err2, err3); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if s.Len() != n || b.Len() != n || y.Len() != n {
		t.Fatalf("%s: views of %d, %d, %d rows, table %d", what, s.Len(), b.Len(), y.Len(), n)
	}
	total := 0
	for i, v := range s.All() {
		within("S", v, sHeap)
		within("B", string(b.Bytes(i)), bHeap)
		within("Y", y.String(i), yBytes)
		if v != s.String(i) {
			t.Fatalf("%s: row %d: All gives %q, String %q", what, i, v, s.String(i))
		}
		total += len(v)
	}
	if s.TotalLen() != total {
		t.Fatalf("%s: TotalLen %d, the values sum to %d", what, s.TotalLen(), total)
	}
	counted := 0
	for code := range uint32(y.Symbols()) + 2 {
		v := y.Value(code)
		within("Y", v, yBytes)
		if c, ok := y.Lookup(v); ok && y.Value(c) != v {
			t.Fatalf("%s: Lookup(%q) = %d, whose value is %q", what, v, c, y.Value(c))
		}
		counted += y.Count(code)
	}
	for i, code := range y.All() {
		if code > uint32(y.Symbols()) {
			t.Fatalf("%s: row %d: code %d, but the dictionary holds %d values", what, i, code, y.Symbols())
		}
	}
	if counted != n {
		t.Fatalf("%s: Count over the codes sums to %d, the table has %d rows", what, counted, n)
	}
	rt, typed := any(tb).(*table.Table[fuzzStrRow])
	if typed {
		for i, r := range rt.All() {
			if r.S != s.String(i) || string(r.B) != string(b.Bytes(i)) || string(r.Y) != y.String(i) || !sameFuzzStr(r, rt.Row(i)) {
				t.Fatalf("%s: row %d: %+v, the views read %q %q %q", what, i, r, s.String(i), b.Bytes(i), y.String(i))
			}
		}
	}
	if ro || !typed {
		return
	}
	if err := errors.Join(rt.Append(fuzzStrRow{A: 99, S: "after", B: []byte("the open"), Y: "aa"}), rt.Sync(), rt.Close()); err != nil {
		t.Fatalf("%s: append and sync after the open: %v", what, err)
	}
	r, err := table.Open[fuzzStrRow](dir, &table.Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("%s: the table a writer opened, appended to and synced does not open read-only: %v", what, err)
	}
	defer r.Close()
	if r.Len() != n+1 || r.Row(n).S != "after" || r.Row(n).Y != "aa" {
		t.Fatalf("%s: reopened with %d rows, the last %+v", what, r.Len(), r.Row(r.Len()-1))
	}
}

func sameFuzzStr(a, b fuzzStrRow) bool {
	return a.A == b.A && a.S == b.S && string(a.B) == string(b.B) && a.Y == b.Y
}
