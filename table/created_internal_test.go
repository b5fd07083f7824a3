package table

import (
	"path/filepath"
	"reflect"
	"testing"

	"github.com/mmapvec/persistence/internal/bootid"
	"github.com/mmapvec/persistence/internal/crashpoint"
)

type pairRow struct{ A, B int64 }

// appendPairs appends rows {i, b} for i in [from, to).
func appendPairs(t *testing.T, tb *Table[pairRow], from, to int, b int64) {
	t.Helper()
	for i := from; i < to; i++ {
		if err := tb.Append(pairRow{int64(i), b}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCreatorAfterAnotherOpenCheckpoints: createNew renames the table into
// place and releases the creation's lock before the creating open takes
// the table's. Another process may open the table in between and leave
// rows it never synced: the creator's first Sync must then be a
// checkpoint, which flushes them, not a record that claims them.
func TestCreatorAfterAnotherOpenCheckpoints(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t")
	rt := reflect.TypeFor[pairRow]()
	s, err := schemaOf(rt, true)
	if err != nil {
		t.Fatal(err)
	}
	created, err := createNew(dir, newManifest(s.cols, int(rt.Size()), Options{}), Options{})
	if err != nil || !created {
		t.Fatalf("createNew: %v, %v", created, err)
	}
	// The other process, first to the lock.
	other, err := Open[pairRow](dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	appendPairs(t, other, 0, 10, 1)
	if err := other.Sync(); err != nil {
		t.Fatal(err)
	}
	appendPairs(t, other, 10, 15, 2)
	if err := other.Close(); err != nil { // its last rows unsynced
		t.Fatal(err)
	}

	// The creator goes on with its open.
	creator := newTable[pairRow](dir, Options{})
	creator.schema = s
	creator.recovery.Created = true
	if err := creator.open(s.cols, int(rt.Size())); err != nil {
		t.Fatal(err)
	}
	defer creator.Close()
	if creator.Len() != 15 {
		t.Fatalf("the creator found %d rows, want the other's 15", creator.Len())
	}
	commits := 0
	crashpoint.SetHook(func(name string) {
		if name == "table.sync.commit" {
			commits++
		}
	})
	err = creator.Sync()
	crashpoint.SetHook(nil)
	if err != nil {
		t.Fatal(err)
	}
	if commits != 1 || creator.logged != 0 {
		t.Fatalf("the creator's first Sync wrote %d COMMITs and logged %d records: it must checkpoint the rows it inherited", commits, creator.logged)
	}
}

// TestCloseAfterRedoneSwapRemove: after a restart, an open redoes a
// SwapRemove that a killed process left half done after a logged Sync,
// then closes. Close checkpoints the last Sync's rows; it must not commit
// that Sync's row count over the rows the redo moved, which would show the
// last row twice and lose the removed row's neighbour.
func TestCloseAfterRedoneSwapRemove(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t")
	bootid.Override("boot-1")
	defer bootid.Override("")
	tb, err := Open[pairRow](dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	appendPairs(t, tb, 0, 10, 1)
	if err := tb.Sync(); err != nil { // logged: the open created the table
		t.Fatal(err)
	}
	// Killed once the last row is moved into row 2: the process is gone.
	crashpoint.SetHook(func(name string) {
		if name == "table.swapremove.moved" {
			panic(name)
		}
	})
	func() {
		defer func() { _ = recover() }()
		_ = tb.SwapRemove(2)
	}()
	crashpoint.SetHook(nil)
	if err := tb.lock.Release(); err != nil {
		t.Fatal(err)
	}

	bootid.Override("boot-2")
	re, err := Open[pairRow](dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if re.Recovered().Intent == "" || re.Len() != 9 {
		t.Fatalf("the restart's open: %d rows, want the SwapRemove redone (recovery: %s)", re.Len(), re.Recovered())
	}
	if err := re.Close(); err != nil {
		t.Fatal(err)
	}

	bootid.Override("boot-3")
	re, err = Open[pairRow](dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer re.Close()
	var got []int64
	for i := range re.Len() {
		got = append(got, re.Row(i).A)
	}
	want := []int64{0, 1, 9, 3, 4, 5, 6, 7, 8}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("after another restart: rows %v, want %v, the redone SwapRemove (recovery: %s)", got, want, re.Recovered())
	}
}
