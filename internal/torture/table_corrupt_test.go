// Damaged and hostile table directories (the corruption matrix): each
// open fails with a typed error that names the problem, or opens with every
// row intact, and nothing outside the directory changes.

package torture_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmapvec/persistence"
	"github.com/mmapvec/persistence/internal/bootid"
	"github.com/mmapvec/persistence/internal/colfile"
	"github.com/mmapvec/persistence/mmap"
	"github.com/mmapvec/persistence/table"
)

const matrixRows = 100

// matrixTable makes a closed, synced table of matrixRows rows in
// root/table, and files outside it in root/outside that damaged tables
// point at: nothing may ever write to them.
func matrixTable(t *testing.T) (root string) {
	t.Helper()
	root = t.TempDir()
	dir := filepath.Join(root, "table")
	tb, err := openTable(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	rows := make([]trow, matrixRows)
	for i := range rows {
		rows[i] = mkTRow(uint64(i), valOf(uint64(i)))
	}
	if err := tb.AppendRows(rows); err != nil {
		t.Fatal(err)
	}
	if err := tb.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := tb.Close(); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(root, "outside")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	copyFile(t, filepath.Join(dir, "ID.col"), filepath.Join(out, "ID.col"))
	if err := os.WriteFile(filepath.Join(out, "precious"), []byte("not the table's\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

type matrixCase struct {
	name   string
	damage func(t *testing.T, dir, outside string)
	// want lists acceptable sentinels (any); nil means the table must
	// open with its rows intact.
	want []error
	// says is text the error (or, for an open, the recovery report) must hold.
	says string
}

// readerExpects holds a reader's expectation for the cases where it
// differs from a writer's: a file readers never use (LOCK: they open with
// the rows intact), or one they read differently (READERS).
var readerExpects = map[string]readerExpect{
	"LOCK is a directory":                 {},
	"LOCK is a symlink to a file outside": {},
}

type readerExpect struct {
	want []error // nil: opens with its rows intact
	says string
}

// rebootCases open as after a reboot, when only the committed count
// counts (in the writer's boot, the live lengths are trusted).
var rebootCases = map[string]bool{"COMMIT with more rows than the columns": true}

// journalCase: a read-only open may refuse with ErrNeedsRecovery (it never
// writes), saying which operation is pending.
func journalCase(name string) bool { return strings.HasPrefix(name, "JOURNAL with") }

// TestTableCorruptionMatrix damages a closed table in one way per case and
// opens it, writable and read-only: each open fails with a typed error
// that names the problem, or opens with every row intact. Nothing may
// panic, fault, or write outside the table directory.
func TestTableCorruptionMatrix(t *testing.T) {
	track(t)
	corrupt := []error{table.ErrCorrupt}
	manifest := []error{persistence.ErrManifest}
	col := func(dir string) string { return filepath.Join(dir, "ID.col") }
	cases := []matrixCase{
		{"manifest empty", func(t *testing.T, d, _ string) { writeTo(t, d, "manifest.json", "") }, manifest, "manifest.json"},
		{"manifest garbage", func(t *testing.T, d, _ string) { writeTo(t, d, "manifest.json", "\x00\xff garbage {{{") }, manifest, "manifest.json"},
		{"manifest truncated JSON", func(t *testing.T, d, _ string) {
			patchFile(t, filepath.Join(d, "manifest.json"), func(b []byte) []byte { return b[:len(b)/2] })
		}, manifest, "manifest.json"},
		{"manifest unknown field", func(t *testing.T, d, _ string) {
			editManifest(t, d, func(m map[string]any) { m["surprise"] = 1 })
		}, manifest, "surprise"},
		{"manifest other format", func(t *testing.T, d, _ string) {
			editManifest(t, d, func(m map[string]any) { m["format"] = "parquet" })
		}, manifest, "format"},
		{"manifest future version", func(t *testing.T, d, _ string) {
			editManifest(t, d, func(m map[string]any) { m["version"] = 99 })
		}, manifest, "version"},
		{"manifest other byte order", func(t *testing.T, d, _ string) {
			editManifest(t, d, func(m map[string]any) {
				m["arch"].(map[string]any)["byte_order"] = colfile.ForeignOrder()
			})
		}, []error{table.ErrArch}, "byte order"},
		{"manifest other pointer size", func(t *testing.T, d, _ string) {
			editManifest(t, d, func(m map[string]any) { m["arch"].(map[string]any)["pointer_size"] = 4 })
		}, []error{table.ErrArch}, "pointer size"},
		{"manifest edited (GOARCH)", func(t *testing.T, d, _ string) {
			editManifest(t, d, func(m map[string]any) { m["arch"].(map[string]any)["goarch"] = "riscv64" })
		}, corrupt, "another manifest"},
		{"column name with ..", func(t *testing.T, d, _ string) {
			editManifest(t, d, func(m map[string]any) { column0(m)["name"] = "../ID"; column0(m)["file"] = "../ID.col" })
		}, manifest, "../ID"},
		{"column name with /", func(t *testing.T, d, _ string) {
			editManifest(t, d, func(m map[string]any) { column0(m)["name"] = "outside/ID"; column0(m)["file"] = "outside/ID.col" })
		}, manifest, "outside/ID"},
		{"column name absolute", func(t *testing.T, d, o string) {
			editManifest(t, d, func(m map[string]any) { column0(m)["name"] = o + "/ID"; column0(m)["file"] = o + "/ID.col" })
		}, manifest, "column name"},
		{"column file outside, name fine", func(t *testing.T, d, _ string) {
			editManifest(t, d, func(m map[string]any) { column0(m)["file"] = "../outside/ID.col" })
		}, manifest, "../outside/ID.col"},
		{"column listed twice", func(t *testing.T, d, _ string) {
			editManifest(t, d, func(m map[string]any) { m["columns"] = append(m["columns"].([]any), column0(m)) })
		}, manifest, "twice"},
		{"column outside the row", func(t *testing.T, d, _ string) {
			editManifest(t, d, func(m map[string]any) { column0(m)["offset"] = 1000 })
		}, manifest, "offset"},
		{"column retyped", func(t *testing.T, d, _ string) {
			editManifest(t, d, func(m map[string]any) {
				column0(m)["layout"].(map[string]any)["leaves"].([]any)[0].(map[string]any)["kind"] = "float64"
			})
			// The history no longer ends with the column as the manifest has
			// it: damage, caught before the schema is compared.
		}, []error{table.ErrSchema, persistence.ErrManifest}, `column "ID"`},
		{"no manifest, committed rows", func(t *testing.T, d, _ string) { rm(t, d, "manifest.json") },
			[]error{table.ErrCorrupt, table.ErrNotTable, persistence.ErrManifest}, "manifest.json"},
		{"column file missing", func(t *testing.T, d, _ string) { rm(t, d, "ID.col") }, corrupt, "ID"},
		{"extra column file", func(t *testing.T, d, _ string) { copyFile(t, col(d), filepath.Join(d, "Extra.col")) }, nil, "Extra.col"},
		{"extra file", func(t *testing.T, d, _ string) { writeTo(t, d, "notes.txt", "hello") }, nil, "notes.txt"},
		// A partial element past the rows is spare capacity: growth cut
		// part way (no fallocate, or ext4's stepwise one) leaves one.
		{"column truncated by 1 byte", func(t *testing.T, d, _ string) { resize(t, col(d), -1) }, nil, ""},
		{"column truncated by 7 bytes", func(t *testing.T, d, _ string) { resize(t, col(d), -7) }, nil, ""},
		{"column extended by 1 byte", func(t *testing.T, d, _ string) { resize(t, col(d), 1) }, nil, ""},
		{"column extended by 13 bytes", func(t *testing.T, d, _ string) { resize(t, col(d), 13) }, nil, ""},
		{"column extended by 4095 bytes", func(t *testing.T, d, _ string) { resize(t, col(d), 4095) }, nil, ""},
		{"column cut inside its rows", func(t *testing.T, d, _ string) {
			if err := os.Truncate(col(d), 4096+matrixRows*8-1); err != nil {
				t.Fatal(err)
			}
		}, corrupt, "ID.col"},
		{"column extended by 3 elements", func(t *testing.T, d, _ string) { resize(t, col(d), 24) }, nil, ""},
		{"column shorter than the committed rows", func(t *testing.T, d, _ string) {
			if err := os.Truncate(col(d), 4096+8*(matrixRows/2)); err != nil {
				t.Fatal(err)
			}
		}, corrupt, "ID.col"},
		{"column emptied", func(t *testing.T, d, _ string) {
			if err := os.Truncate(col(d), 0); err != nil {
				t.Fatal(err)
			}
		}, corrupt, "ID.col"},
		{"column cut inside its header", func(t *testing.T, d, _ string) {
			if err := os.Truncate(col(d), 100); err != nil {
				t.Fatal(err)
			}
		}, corrupt, "ID.col"},
		{"column is a directory", func(t *testing.T, d, _ string) { rm(t, d, "ID.col"); mkdir(t, col(d)) }, corrupt, "not a regular file"},
		{"column is a symlink to a file outside", func(t *testing.T, d, o string) {
			rm(t, d, "ID.col")
			if err := os.Symlink(filepath.Join(o, "ID.col"), col(d)); err != nil {
				t.Fatal(err)
			}
		}, corrupt, "not a regular file"},
		{"column is a dangling symlink", func(t *testing.T, d, o string) {
			rm(t, d, "ID.col")
			if err := os.Symlink(filepath.Join(o, "nothing"), col(d)); err != nil {
				t.Fatal(err)
			}
		}, corrupt, "ID.col"},
		{"column is a FIFO", func(t *testing.T, d, _ string) {
			rm(t, d, "ID.col")
			mkFIFO(t, col(d))
		}, corrupt, "not a regular file"},
		{"column magic", func(t *testing.T, d, _ string) {
			patchFile(t, col(d), func(b []byte) []byte { b[0] ^= 0xff; return b })
		},
			[]error{mmap.ErrBadMagic}, "ID.col"},
		{"column header CRC", func(t *testing.T, d, _ string) { patchFile(t, col(d), func(b []byte) []byte { b[30] ^= 1; return b }) },
			[]error{mmap.ErrChecksum}, "ID.col"},
		{"column of the other byte order", func(t *testing.T, d, _ string) {
			patchFile(t, col(d), func(b []byte) []byte { ne.PutUint32(b[16:], 0x04030201); return b })
		}, []error{mmap.ErrByteOrder}, "byte order"},
		{"column tag", func(t *testing.T, d, _ string) {
			patchFile(t, col(d), func(b []byte) []byte { b[8] = 'X'; fixHeaderCRC(b); return b })
		}, []error{mmap.ErrTag}, "ID.col"},
		{"column data version", func(t *testing.T, d, _ string) {
			patchFile(t, col(d), func(b []byte) []byte { ne.PutUint32(b[24:], 9); fixHeaderCRC(b); return b })
		}, []error{mmap.ErrDataVersion}, "data version"},
		{"column element size", func(t *testing.T, d, _ string) {
			patchFile(t, col(d), func(b []byte) []byte { ne.PutUint32(b[28:], 4); fixHeaderCRC(b); return b })
		}, []error{mmap.ErrElemType}, "ID.col"},
		{"column element alignment 3", func(t *testing.T, d, _ string) {
			patchFile(t, col(d), func(b []byte) []byte { ne.PutUint32(b[32:], 3); fixHeaderCRC(b); return b })
		}, corrupt, "ID.col"},
		{"column reserved header byte", func(t *testing.T, d, _ string) {
			patchFile(t, col(d), func(b []byte) []byte { b[1000] = 1; return b })
		}, corrupt, "ID.col"},
		{"column format version", func(t *testing.T, d, _ string) {
			patchFile(t, col(d), func(b []byte) []byte { ne.PutUint16(b[20:], 2); fixHeaderCRC(b); return b })
		}, []error{mmap.ErrFormatVersion}, "ID.col"},
		{"COMMIT missing", func(t *testing.T, d, _ string) { rm(t, d, "COMMIT") }, nil, "COMMIT"},
		{"COMMIT empty", func(t *testing.T, d, _ string) { writeTo(t, d, "COMMIT", "") }, corrupt, "COMMIT"},
		{"COMMIT truncated", func(t *testing.T, d, _ string) { resize(t, filepath.Join(d, "COMMIT"), -100) }, corrupt, "COMMIT"},
		{"COMMIT extended", func(t *testing.T, d, _ string) { resize(t, filepath.Join(d, "COMMIT"), 512) }, corrupt, "COMMIT"},
		{"COMMIT of another manifest", func(t *testing.T, d, _ string) {
			writeTo(t, d, "COMMIT", string(append(encodeCommit(0, 9, matrixRows, 12345, lens(matrixRows)),
				encodeCommit(1, 8, matrixRows, 12345, lens(matrixRows))...)))
		}, corrupt, "manifest"},
		{"COMMIT with more rows than the columns", func(t *testing.T, d, _ string) {
			m, err := persistence.ReadManifest(d)
			if err != nil {
				t.Fatal(err)
			}
			writeTo(t, d, "COMMIT", string(append(encodeCommit(0, 99, 1<<30, m.Hash(), lens(1<<30)),
				encodeCommit(1, 98, 1<<30, m.Hash(), lens(1<<30))...)))
		}, corrupt, "holds"},
		{"COMMIT with unequal column lengths", func(t *testing.T, d, _ string) {
			m, err := persistence.ReadManifest(d)
			if err != nil {
				t.Fatal(err)
			}
			l := lens(matrixRows)
			l[2] = 7
			writeTo(t, d, "COMMIT", string(append(encodeCommit(0, 99, matrixRows, m.Hash(), l),
				encodeCommit(1, 98, matrixRows, m.Hash(), l)...)))
		}, corrupt, "COMMIT"},
		{"COMMIT is a directory", func(t *testing.T, d, _ string) { rm(t, d, "COMMIT"); mkdir(t, filepath.Join(d, "COMMIT")) }, corrupt, "COMMIT"},
		{"JOURNAL garbage", func(t *testing.T, d, _ string) { writeTo(t, d, "JOURNAL", strings.Repeat("\xa5", 4096)) }, nil, ""},
		{"JOURNAL of the wrong size", func(t *testing.T, d, _ string) { writeTo(t, d, "JOURNAL", "ITNT") }, nil, ""},
		{"JOURNAL with an impossible SwapRemove", func(t *testing.T, d, _ string) {
			writeTo(t, d, "JOURNAL", string(journalRecord(2, commitSeq(t, d), 1000, matrixRows)))
		}, corrupt, "SwapRemove"},
		{"JOURNAL with an impossible Truncate", func(t *testing.T, d, _ string) {
			writeTo(t, d, "JOURNAL", string(journalRecord(3, commitSeq(t, d), matrixRows+5, matrixRows)))
		}, corrupt, "Truncate"},
		{"JOURNAL with a SetRow past the rows", func(t *testing.T, d, _ string) {
			writeTo(t, d, "JOURNAL", string(journalRecord(1, commitSeq(t, d), matrixRows+5, matrixRows)))
		}, corrupt, "SetRow(105)"},
		{"JOURNAL of an unknown operation", func(t *testing.T, d, _ string) {
			writeTo(t, d, "JOURNAL", string(journalRecord(9, commitSeq(t, d), 1, matrixRows)))
		}, nil, ""},
		{"JOURNAL is a directory", func(t *testing.T, d, _ string) { rm(t, d, "JOURNAL"); mkdir(t, filepath.Join(d, "JOURNAL")) }, corrupt, "JOURNAL"},
		{"JOURNAL is a symlink to a file outside", func(t *testing.T, d, o string) {
			rm(t, d, "JOURNAL")
			if err := os.Symlink(filepath.Join(o, "precious"), filepath.Join(d, "JOURNAL")); err != nil {
				t.Fatal(err)
			}
		}, corrupt, "not a regular file"},
		{"COMMIT is a symlink to a copy outside", func(t *testing.T, d, o string) {
			copyFile(t, filepath.Join(d, "COMMIT"), filepath.Join(o, "COMMIT"))
			rm(t, d, "COMMIT")
			if err := os.Symlink(filepath.Join(o, "COMMIT"), filepath.Join(d, "COMMIT")); err != nil {
				t.Fatal(err)
			}
		}, corrupt, "not a regular file"},
		{"LOCK is a directory", func(t *testing.T, d, _ string) { rm(t, d, "LOCK"); mkdir(t, filepath.Join(d, "LOCK")) }, nil, "not a regular file"},
		{"LOCK is a symlink to a file outside", func(t *testing.T, d, o string) {
			rm(t, d, "LOCK")
			if err := os.Symlink(filepath.Join(o, "precious"), filepath.Join(d, "LOCK")); err != nil {
				t.Fatal(err)
			}
		}, nil, "LOCK"},
		{"LOCK missing", func(t *testing.T, d, _ string) { rm(t, d, "LOCK") }, nil, ""},
		{"table path is a file", func(t *testing.T, d, _ string) {
			if err := os.RemoveAll(d); err != nil {
				t.Fatal(err)
			}
			writeTo(t, filepath.Dir(d), filepath.Base(d), "not a directory")
		}, []error{table.ErrNotTable}, "not a directory"},
		{"directory of other files, no manifest", func(t *testing.T, d, _ string) {
			if err := os.RemoveAll(d); err != nil {
				t.Fatal(err)
			}
			mkdir(t, d)
			writeTo(t, d, "thesis.tex", "precious")
		}, []error{table.ErrNotTable}, "manifest.json"},
	}
	cases = append(cases, hostileMatrixCases()...)
	cases = append(cases, readersMatrixCases()...)
	named := 0
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			named++
			root := matrixTable(t)
			dir, outside := filepath.Join(root, "table"), filepath.Join(root, "outside")
			c.damage(t, dir, outside)
			before := treeSum(t, outside)
			for _, ro := range []bool{true, false} {
				runMatrixCase(t, c, dir, ro)
				if after := treeSum(t, outside); after != before {
					t.Fatalf("read-only %v: a file outside the table directory changed", ro)
				}
			}
		})
	}
	flips := headerFlips(t)
	fig.add(&fig.cases, named+flips)
	t.Logf("%d corruption cases on a closed table (each opened read-only and writable), and %d column header bytes flipped", named, flips)
}

// hostileMatrixCases are corruption matrix cases whose checksums are valid
// but whose numbers are not (a JOURNAL record or COMMIT slot an adversary
// wrote with the right CRC), and table files of the wrong kind or size
// (a FIFO, a symlink to /dev/zero, a sparse 1 TiB file). Each must be
// refused with a typed error before anything is indexed, read or
// allocated by the number or size it claims.
func hostileMatrixCases() []matrixCase {
	corrupt := []error{table.ErrCorrupt}
	manifest := []error{persistence.ErrManifest}
	journal := func(op byte, index, rowsBefore uint64) func(t *testing.T, d, _ string) {
		return func(t *testing.T, d, _ string) {
			writeTo(t, d, "JOURNAL", string(journalRecord(op, commitSeq(t, d), index, rowsBefore)))
		}
	}
	commitRows := func(rows uint64) func(t *testing.T, d, _ string) {
		return func(t *testing.T, d, _ string) {
			m, err := persistence.ReadManifest(d)
			if err != nil {
				t.Fatal(err)
			}
			writeTo(t, d, "COMMIT", string(append(encodeCommit(0, 99, rows, m.Hash(), lens(rows)),
				encodeCommit(1, 98, rows, m.Hash(), lens(rows))...)))
		}
	}
	replace := func(name string, make func(t *testing.T, path string)) func(t *testing.T, d, _ string) {
		return func(t *testing.T, d, _ string) {
			rm(t, d, name)
			make(t, filepath.Join(d, name))
		}
	}
	sparse := func(t *testing.T, path string) {
		if err := os.WriteFile(path, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(path, 1<<40); err != nil {
			t.Skipf("no sparse 1 TiB file here: %v", err)
		}
	}
	const maxU = ^uint64(0)
	return []matrixCase{
		{"JOURNAL with a valid SetRow(2^64-1)", journal(1, maxU, matrixRows), corrupt, "SetRow(18446744073709551615)"},
		{"JOURNAL with a valid SetRow(0xffffffffc0000000)", journal(1, 0xffffffffc0000000, matrixRows), corrupt, "18446744072635809792"},
		{"JOURNAL with a valid SwapRemove of 2^64-1 rows", journal(2, maxU-1, maxU), corrupt, "18446744073709551615"},
		{"JOURNAL with a valid SwapRemove of 2^62 rows", journal(2, 0, 1<<62), corrupt, "4611686018427387904"},
		{"JOURNAL with a valid Truncate from 2^64-1 rows", journal(3, 0, maxU), corrupt, "from 18446744073709551615 to 0"},
		{"COMMIT with a valid slot of 2^64-1 rows", commitRows(maxU), corrupt, "18446744073709551615"},
		{"COMMIT with a valid slot of 2^63 rows", commitRows(1 << 63), corrupt, "9223372036854775808"},
		{"COMMIT with a valid slot of 2^40 rows", commitRows(1 << 40), corrupt, "1099511627776"},
		{"manifest is a FIFO", replace("manifest.json", mkFIFO), manifest, "FIFO"},
		{"manifest is a symlink to /dev/zero", replace("manifest.json", linkDevZero), manifest, "symlink"},
		{"manifest is a sparse 1 TiB file", replace("manifest.json", sparse), manifest, "1099511627776 bytes"},
		{"COMMIT is a FIFO", replace("COMMIT", mkFIFO), corrupt, "FIFO"},
		{"COMMIT is a symlink to /dev/zero", replace("COMMIT", linkDevZero), corrupt, "symlink"},
		{"COMMIT is a sparse 1 TiB file", replace("COMMIT", sparse), corrupt, "1099511627776 bytes"},
		{"JOURNAL is a FIFO", replace("JOURNAL", mkFIFO), corrupt, "FIFO"},
		{"JOURNAL is a symlink to /dev/zero", replace("JOURNAL", linkDevZero), corrupt, "symlink"},
		{"JOURNAL is a sparse 1 TiB file", replace("JOURNAL", sparse), corrupt, "1099511627776 bytes"},
	}
}

func runMatrixCase(t *testing.T, c matrixCase, dir string, ro bool) {
	t.Helper()
	if rebootCases[c.name] {
		bootid.Override("matrix-reboot")
		defer bootid.Override("")
	}
	if e, ok := readerExpects[c.name]; ok && ro {
		c.want, c.says = e.want, e.says
	}
	tb, err := openTable(dir, ro)
	if err != nil && ro && journalCase(c.name) && errors.Is(err, table.ErrNeedsRecovery) {
		t.Logf("read-only: %v", err)
		return
	}
	if err != nil {
		typed := false
		for _, w := range c.want {
			typed = typed || errors.Is(err, w)
		}
		var pe *fs.PathError
		if c.want == nil && errors.As(err, &pe) {
			typed = true // the OS said what is wrong with which file
		}
		if !typed {
			t.Fatalf("read-only %v: error %q (%T) matches none of %v", ro, err, err, c.want)
		}
		if !strings.Contains(err.Error(), c.says) {
			t.Fatalf("read-only %v: error %q does not say %q", ro, err, c.says)
		}
		t.Logf("read-only %v: %v", ro, err)
		return
	}
	defer tb.Close()
	if c.want != nil {
		t.Fatalf("read-only %v: opened (%d rows, %s), want an error matching %v", ro, tb.Len(), tb.Recovered(), c.want)
	}
	if tb.Len() != matrixRows {
		t.Fatalf("read-only %v: opened with %d rows, want %d (%s)", ro, tb.Len(), matrixRows, tb.Recovered())
	}
	got, err := readRows(tb)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range got {
		if r != mkTRow(uint64(i), valOf(uint64(i))) {
			t.Fatalf("read-only %v: row %d is %+v", ro, i, r)
		}
	}
	if c.says != "" && !strings.Contains(tb.Recovered().String(), c.says) {
		t.Fatalf("read-only %v: opened, but the recovery report %q does not mention %q", ro, tb.Recovered(), c.says)
	}
	t.Logf("read-only %v: opened: %s", ro, tb.Recovered())
	if !ro {
		// A table that opened takes writes, and they stay inside it.
		if err := tb.Append(mkTRow(matrixRows, valOf(matrixRows))); err != nil {
			t.Fatalf("append: %v", err)
		}
		if err := tb.Sync(); err != nil {
			t.Fatalf("sync: %v", err)
		}
	}
}

// headerFlips flips each byte of a column's header page in turn (all of
// the used part, a sample of the reserved rest) and opens the table: a
// typed error, or every row intact.
func headerFlips(t *testing.T) int {
	root := matrixTable(t)
	dir := filepath.Join(root, "table")
	path := filepath.Join(dir, "V.col")
	clean := readFile(t, path)
	n := 0
	for i := 0; i < 4096; i++ {
		if i >= 256 && i%61 != 0 {
			continue
		}
		img := append([]byte(nil), clean...)
		img[i] ^= 0xff
		if err := os.WriteFile(path, img, 0o644); err != nil {
			t.Fatal(err)
		}
		n++
		tb, err := openTable(dir, true)
		if err != nil {
			if !errors.Is(err, table.ErrCorrupt) && !errors.Is(err, mmap.ErrByteOrder) && !errors.Is(err, mmap.ErrFormatVersion) &&
				!errors.Is(err, mmap.ErrTag) && !errors.Is(err, mmap.ErrDataVersion) && !errors.Is(err, mmap.ErrElemType) {
				t.Fatalf("header byte %d flipped: untyped error %v", i, err)
			}
			if !strings.Contains(err.Error(), "V.col") {
				t.Fatalf("header byte %d flipped: the error does not name the file: %v", i, err)
			}
			continue
		}
		got, err := readRows(tb)
		if err != nil {
			t.Fatal(err)
		}
		tb.Close()
		if len(got) != matrixRows {
			t.Fatalf("header byte %d flipped: opened with %d rows", i, len(got))
		}
		for j, r := range got {
			if r != mkTRow(uint64(j), valOf(uint64(j))) {
				t.Fatalf("header byte %d flipped: row %d is %+v", i, j, r)
			}
		}
	}
	return n
}
