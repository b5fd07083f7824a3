package torture_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/mmapvec/persistence"
	"github.com/mmapvec/persistence/table"
)

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
	fifo := func(t *testing.T, path string) {
		if err := syscall.Mkfifo(path, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	devZero := func(t *testing.T, path string) {
		if err := os.Symlink("/dev/zero", path); err != nil {
			t.Fatal(err)
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
		{"manifest is a FIFO", replace("manifest.json", fifo), manifest, "FIFO"},
		{"manifest is a symlink to /dev/zero", replace("manifest.json", devZero), manifest, "symlink"},
		{"manifest is a sparse 1 TiB file", replace("manifest.json", sparse), manifest, "1099511627776 bytes"},
		{"COMMIT is a FIFO", replace("COMMIT", fifo), corrupt, "FIFO"},
		{"COMMIT is a symlink to /dev/zero", replace("COMMIT", devZero), corrupt, "symlink"},
		{"COMMIT is a sparse 1 TiB file", replace("COMMIT", sparse), corrupt, "1099511627776 bytes"},
		{"JOURNAL is a FIFO", replace("JOURNAL", fifo), corrupt, "FIFO"},
		{"JOURNAL is a symlink to /dev/zero", replace("JOURNAL", devZero), corrupt, "symlink"},
		{"JOURNAL is a sparse 1 TiB file", replace("JOURNAL", sparse), corrupt, "1099511627776 bytes"},
	}
}
