package torture_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/mmapvec/persistence/internal/bootid"
	"github.com/mmapvec/persistence/internal/crashpoint"
)

// TestTablePowerLossIntentPastCommitted: rows appended after the last Sync,
// then a SetRow on one of them, and the power goes with its intent on disk
// but not the column growth (the files as they were at the Sync). The
// intent is about rows the commit never had: Open must drop it and open
// with the committed rows, not fail because the columns are short.
func TestTablePowerLossIntentPastCommitted(t *testing.T) {
	track(t)
	dir := filepath.Join(t.TempDir(), "table")
	bootid.Override("writer")
	defer bootid.Override("")
	tb, err := openTable(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	defer tb.Close()
	synced := readDir(t, dir)
	for i := range 13 {
		if err := tb.Append(mkTRow(uint64(i), valOf(uint64(i)))); err != nil {
			t.Fatal(err)
		}
	}
	var atCrash dirImage
	crashpoint.SetHook(func(name string) {
		if name == "table.setrow.applied" {
			atCrash = readDir(t, dir)
		}
	})
	err = tb.SetRow(5, mkTRow(5, 1))
	crashpoint.SetHook(nil)
	if err != nil || atCrash == nil {
		t.Fatalf("SetRow: %v (hook reached: %v)", err, atCrash != nil)
	}
	// The power goes: the JOURNAL page reached the disk, the columns'
	// growth did not.
	img := filepath.Join(t.TempDir(), "image")
	if err := os.Mkdir(img, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, b := range atCrash {
		if old, ok := synced[name]; ok && name != "JOURNAL" {
			b = old
		}
		if err := os.WriteFile(filepath.Join(img, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bootid.Override("after-power-loss")
	got, err := openTable(img, false)
	if err != nil {
		t.Fatalf("open after power loss: %v", err)
	}
	defer got.Close()
	if got.Len() != 0 {
		t.Fatalf("%d rows after power loss, the last Sync had 0 (recovery: %s)", got.Len(), got.Recovered())
	}
}

// TestTableSetRowAfterSyncThenReboot: a Sync returns, a row it committed
// is changed in place with SetRow, the table is closed, and the machine
// reboots cleanly (no crash at all). Every row of that Sync must be there;
// the one-flush commit's checksums cover rows that SetRow may change
// afterwards, and must not make Open roll back a Sync that returned.
func TestTableSetRowAfterSyncThenReboot(t *testing.T) {
	track(t)
	dir := filepath.Join(t.TempDir(), "table")
	bootid.Override("writer")
	defer bootid.Override("")
	tb, err := openTable(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	appendN := func(from, n int) {
		t.Helper()
		for i := from; i < from+n; i++ {
			if err := tb.Append(mkTRow(uint64(i), valOf(uint64(i)))); err != nil {
				t.Fatal(err)
			}
		}
		if err := tb.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	appendN(0, 100)  // the columns grew: data, then commit
	appendN(100, 50) // rows in durable blocks: the one-flush commit
	if err := tb.SetRow(120, mkTRow(120, 7)); err != nil {
		t.Fatal(err)
	}
	if err := tb.Close(); err != nil {
		t.Fatal(err)
	}
	bootid.Override("next-boot")
	got, err := openTable(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	if got.Len() != 150 {
		t.Fatalf("after a clean reboot the table has %d rows, the last Sync returned with 150 (recovery: %s)", got.Len(), got.Recovered())
	}
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
