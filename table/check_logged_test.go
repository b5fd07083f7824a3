package table_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/mmapvec/persistence/internal/bootid"
	"github.com/mmapvec/persistence/table"
)

type loggedRow struct {
	A int64
	U string
}

// corruptProblems returns the problems of a check that call the table
// damaged (ErrCorrupt).
func corruptProblems(t *testing.T, dir string) []table.Problem {
	t.Helper()
	rep, err := table.Check(dir)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	var bad []table.Problem
	for _, p := range rep.Problems {
		if errors.Is(p, table.ErrCorrupt) {
			bad = append(bad, p)
		}
	}
	return bad
}

// TestCheckShortJournal: FORMAT.md, "JOURNAL": "a shorter one (a crash
// while it was being sized) holds no intent", and Open accepts it. A
// writable open that finds JOURNAL of another size truncates it to 0 and
// allocates it again, without an fsync: on btrfs a power cut after a
// schema change (the packed row size changes) leaves a 0-byte JOURNAL in
// every image cut after a schema change. table.Check (and `persist
// check`, exit status 1) once reported that state as damage ("JOURNAL is
// 0 bytes, want 4096"), though the table opens with every row.
func TestCheckShortJournal(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t")
	tb, err := table.Open[loggedRow](dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if err := tb.Append(loggedRow{A: int64(i), U: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := tb.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := tb.Close(); err != nil {
		t.Fatal(err)
	}
	// What openJournal's Truncate(0) leaves when its Allocate never
	// reached the disk.
	if err := os.Truncate(filepath.Join(dir, "JOURNAL"), 0); err != nil {
		t.Fatal(err)
	}
	for _, ro := range []bool{true, false} {
		tb, err := table.Open[loggedRow](dir, &table.Options{ReadOnly: ro})
		if err != nil {
			t.Fatalf("open (read-only %v) with a 0-byte JOURNAL: %v", ro, err)
		}
		if tb.Len() != 10 {
			t.Fatalf("open (read-only %v): %d rows, want 10", ro, tb.Len())
		}
		tb.Close()
		if !ro {
			break
		}
		if bad := corruptProblems(t, dir); len(bad) > 0 {
			t.Errorf("table.Check calls a table that opens with every row damaged: %v", bad)
		}
	}
}

// TestCheckLoggedChainPastFile: a logged Sync makes rows durable in
// WAL alone; the growth of the column files (fallocate: a size change) is
// not flushed. After a power cut the column files are as short as before
// the appends (ext4, XFS and btrfs images cut the instant a logged Sync
// returned show A.col at 4096 bytes: realfs), and Open
// replays the log, growing them ("files grown as the lengths need",
// FORMAT.md "WAL", Replay), with every row. FORMAT.md says "Check reads
// the chain and counts its rows as committed"; table.Check once compared
// that count with the files' capacity as if it were a COMMIT slot and
// called the intact table damaged ("COMMIT (seq 2) has 300 rows, the file
// holds 0 elements"). It notes the growth the log carries now.
func TestCheckLoggedChainPastFile(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "t")
	tb, err := table.Open[loggedRow](dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tb.Close()
	for i := range 300 {
		if err := tb.Append(loggedRow{A: int64(i) + 1, U: "value"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := tb.Sync(); err != nil { // logged: the columns are not flushed
		t.Fatal(err)
	}
	// The power goes now. The image holds the log, COMMIT, the manifest,
	// and column files whose growth never reached the disk.
	cut := filepath.Join(base, "cut")
	if err := os.Mkdir(cut, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"manifest.json", "COMMIT", "WAL", "JOURNAL", "A.col", "U.col", "U.bytes"} {
		copyFile(t, filepath.Join(dir, f), filepath.Join(cut, f))
	}
	for _, f := range []string{"A.col", "U.col", "U.bytes"} {
		if err := os.Truncate(filepath.Join(cut, f), 4096); err != nil {
			t.Fatal(err)
		}
	}
	bootid.Override("after the power cut")
	defer bootid.Override("")
	bad := corruptProblems(t, cut)
	got, err := table.Open[loggedRow](cut, nil)
	if err != nil {
		t.Fatalf("open after the cut: %v", err)
	}
	n := got.Len()
	for i := range n {
		if r := got.Row(i); r.A != int64(i)+1 || r.U != "value" {
			t.Fatalf("row %d is %+v", i, r)
		}
	}
	got.Close()
	if n != 300 {
		t.Fatalf("open after the cut: %d rows, want 300", n)
	}
	if len(bad) > 0 {
		t.Errorf("table.Check calls a table that opens with all its 300 synced rows damaged: %v", bad)
	}
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
