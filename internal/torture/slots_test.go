// Torn and flipped commit slots: a Vec header's two slots and the COMMIT
// file's two.

package torture_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/mmapvec/persistence/internal/bootid"
	"github.com/mmapvec/persistence/internal/crashpoint"
	"github.com/mmapvec/persistence/mmap"
	"github.com/mmapvec/persistence/table"
)

// slotFiles returns a file as it was just before a Sync wrote its commit
// slot (before) and after that Sync (after), plus the lengths committed
// by the Sync before it (oldLen) and by that Sync (newLen).
func vecSlotFiles(t *testing.T) (before, after []byte, oldLen, newLen int, path string) {
	t.Helper()
	path = vecPath(t.TempDir())
	v, err := mmap.Open[row](path, vecOpts)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	for i := range 3 {
		if err := v.Append(mkRow(uint64(i), valOf(uint64(i)))); err != nil {
			t.Fatal(err)
		}
		if err := v.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	if err := v.Append(mkRow(3, valOf(3)), mkRow(4, valOf(4))); err != nil {
		t.Fatal(err)
	}
	crashpoint.SetHook(func(name string) {
		if name == "vec.sync.slot" {
			before = readFile(t, path)
		}
	})
	err = v.Sync()
	crashpoint.SetHook(nil)
	if err != nil {
		t.Fatal(err)
	}
	return before, readFile(t, path), 3, 5, path
}

// newSlot returns the offset of the slot that differs between two files.
func newSlot(t *testing.T, before, after []byte, offs ...int) int {
	t.Helper()
	for _, off := range offs {
		if string(before[off:off+vecSlotSize]) != string(after[off:off+vecSlotSize]) {
			return off
		}
	}
	t.Fatal("no slot changed")
	return 0
}

func openVecAfterReboot(path string) (*mmap.Vec[row], error) {
	bootid.Override("slot-test-reboot")
	defer bootid.Override("")
	return mmap.Open[row](path, vecOpts)
}

// TestVecTornAndFlippedSlots writes every prefix of a Vec's new commit
// slot over the old one (a torn pwrite), flips every bit of either slot,
// and flips bits in both: a torn or damaged slot falls back to the other,
// both damaged is ErrChecksum, and nothing panics.
func TestVecTornAndFlippedSlots(t *testing.T) {
	track(t)
	before, after, oldLen, newLen, path := vecSlotFiles(t)
	off := newSlot(t, before, after, vecSlot0, vecSlot1)
	other := vecSlot0 + vecSlot1 - off
	cases := 0
	open := func(img []byte, what string, want ...int) *mmap.Vec[row] {
		t.Helper()
		cases++
		if err := os.WriteFile(path, img, 0o644); err != nil {
			t.Fatal(err)
		}
		v, err := openVecAfterReboot(path)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		for _, w := range want {
			if v.Len() == w {
				return v
			}
		}
		v.Close()
		t.Fatalf("%s: opened with %d elements, want one of %v", what, v.Len(), want)
		return nil
	}
	for k := 0; k <= vecSlotSize; k++ {
		img := append([]byte(nil), before...)
		copy(img[off:off+k], after[off:off+k])
		want := oldLen
		if k == vecSlotSize {
			want = newLen
		}
		v := open(img, "prefix of the new slot", want)
		if k < vecSlotSize && k > 0 && !v.Recovery().SlotFallback && string(img[off:off+vecSlotSize]) != string(before[off:off+vecSlotSize]) {
			t.Errorf("torn slot (%d of %d bytes) not reported as a fallback", k, vecSlotSize)
		}
		v.Close()
	}
	for _, slot := range []int{off, other} {
		for bit := range vecSlotSize * 8 {
			img := append([]byte(nil), after...)
			img[slot+bit/8] ^= 1 << (bit % 8)
			want := oldLen
			if slot == other {
				want = newLen
			}
			v := open(img, "bit flipped in a slot", want)
			if !v.Recovery().SlotFallback {
				t.Errorf("slot at %d, bit %d: fallback not reported", slot, bit)
			}
			v.Close()
		}
	}
	rng := newRand(seed(t))
	for range (counts{short: 20, race: 150, def: 300, long: 3000}).n() {
		img := append([]byte(nil), after...)
		img[off+rng.IntN(vecSlotSize)] ^= 1 << rng.IntN(8)
		img[other+rng.IntN(vecSlotSize)] ^= 1 << rng.IntN(8)
		cases++
		if err := os.WriteFile(path, img, 0o644); err != nil {
			t.Fatal(err)
		}
		v, err := openVecAfterReboot(path)
		if err == nil {
			v.Close()
			t.Fatal("both slots damaged, yet the file opened")
		}
		if !errors.Is(err, mmap.ErrChecksum) || !errors.Is(err, mmap.ErrCorrupt) {
			t.Fatalf("both slots damaged: want ErrChecksum, got %v", err)
		}
	}
	fig.add(&fig.cases, cases)
	t.Logf("%d slot cases on a Vec: every torn prefix, every bit of both slots, random pairs of damaged slots", cases)
}

// commitFiles is vecSlotFiles for a table's COMMIT file.
func commitFiles(t *testing.T) (dir string, before, after []byte, oldRows, newRows int) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "table")
	tb, err := openTable(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { tb.Close() }()
	for i := range 3 {
		if err := tb.Append(mkTRow(uint64(i), valOf(uint64(i)))); err != nil {
			t.Fatal(err)
		}
		if err := tb.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	// The Syncs after the first of an open are logged and leave COMMIT
	// alone: reopen, so that the Sync below is a checkpoint and writes it.
	if err := tb.Close(); err != nil {
		t.Fatal(err)
	}
	if tb, err = openTable(dir, false); err != nil {
		t.Fatal(err)
	}
	if err := tb.AppendRows([]trow{mkTRow(3, valOf(3)), mkTRow(4, valOf(4))}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "COMMIT")
	crashpoint.SetHook(func(name string) {
		if name == "table.sync.commit" {
			before = readFile(t, path)
		}
	})
	err = tb.Sync()
	crashpoint.SetHook(nil)
	if err != nil {
		t.Fatal(err)
	}
	return dir, before, readFile(t, path), 3, 5
}

// TestTableTornAndFlippedCommitSlots is TestVecTornAndFlippedSlots for the
// COMMIT file: every prefix of the new slot, every bit of both slots'
// used bytes and a sample of their padding, and pairs of damaged slots.
func TestTableTornAndFlippedCommitSlots(t *testing.T) {
	track(t)
	dir, before, after, oldRows, newRows := commitFiles(t)
	if len(after) != 2*commitSlotSize {
		t.Fatalf("COMMIT is %d bytes, want two %d-byte slots (FORMAT.md)", len(after), commitSlotSize)
	}
	off := 0
	if string(before[:commitSlotSize]) == string(after[:commitSlotSize]) {
		off = commitSlotSize
	}
	other := commitSlotSize - off
	path := filepath.Join(dir, "COMMIT")
	cases := 0
	open := func(img []byte) (*table.Table[trow], error) {
		cases++
		if err := os.WriteFile(path, img, 0o644); err != nil {
			t.Fatal(err)
		}
		bootid.Override("commit-test-reboot")
		defer bootid.Override("")
		return openTable(dir, true)
	}
	expect := func(img []byte, what string, rows int, damaged bool) {
		t.Helper()
		tb, err := open(img)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		defer tb.Close()
		if tb.Len() != rows || tb.Recovered().CommitSlotDamaged != damaged {
			t.Fatalf("%s: %d rows (damaged slot reported: %v), want %d (%v); %s", what, tb.Len(), tb.Recovered().CommitSlotDamaged, rows, damaged, tb.Recovered())
		}
	}
	for _, k := range []int{0, 1, 7, 8, 15, 16, 24, 33, 40, 48, 80, commitSlotUsed - 1, commitSlotUsed, commitSlotSize} {
		img := append([]byte(nil), before...)
		copy(img[off:off+k], after[off:off+k])
		switch {
		case k >= commitSlotUsed:
			expect(img, "the whole new slot", newRows, false)
		case k == 0:
			expect(img, "nothing of the new slot", oldRows, false)
		default:
			changed := string(img[off:off+commitSlotSize]) != string(before[off:off+commitSlotSize])
			expect(img, "a torn prefix of the new slot", oldRows, changed)
		}
	}
	for _, slot := range []int{off, other} {
		want := oldRows
		if slot == other {
			want = newRows
		}
		for b := 0; b < commitSlotSize; b++ {
			if b >= commitSlotUsed && b%37 != 0 {
				continue
			}
			img := append([]byte(nil), after...)
			img[slot+b] ^= 1 << (b % 8)
			expect(img, "a bit flipped in a slot", want, true)
		}
	}
	rng := newRand(seed(t))
	for range (counts{short: 15, race: 100, def: 200, long: 2000}).n() {
		img := append([]byte(nil), after...)
		img[off+rng.IntN(commitSlotUsed)] ^= 1 << rng.IntN(8)
		img[other+rng.IntN(commitSlotUsed)] ^= 1 << rng.IntN(8)
		tb, err := open(img)
		if err == nil {
			tb.Close()
			t.Fatal("both COMMIT slots damaged, yet the table opened")
		}
		if !errors.Is(err, table.ErrCorrupt) {
			t.Fatalf("both COMMIT slots damaged: want ErrCorrupt, got %v", err)
		}
	}
	fig.add(&fig.cases, cases)
	t.Logf("%d COMMIT slot cases: torn prefixes, bits of both slots, pairs of damaged slots", cases)
}
