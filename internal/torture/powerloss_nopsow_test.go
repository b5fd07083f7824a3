package torture_test

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/mmapvec/persistence/internal/bootid"
	"github.com/mmapvec/persistence/internal/crashpoint"
	"github.com/mmapvec/persistence/internal/torture"
	"github.com/mmapvec/persistence/mmap"
)

// TestPowerLossWithoutPowersafeOverwrite measures what the format promises
// on a disk that may trash a whole sector being written (no powersafe
// overwrite, older disks): appends rewrite the page holding the last
// committed rows, and every append rewrites the header page, whose first
// sector holds the fixed fields, the live length and both commit slots.
// The promise is weaker there, and the test asserts what is left: every
// image opens at a committed length, or is refused with ErrCorrupt; never
// an untyped error, a panic or a fault. It logs how many images lost
// committed rows without an error (the format has no data checksums).
func TestPowerLossWithoutPowersafeOverwrite(t *testing.T) {
	track(t)
	s := seed(t)
	rng := newRand(s)
	want := scale(200, 600, 3000)
	dir, imgDir := t.TempDir(), t.TempDir()
	path := vecPath(dir)
	v, err := mmap.Open[row](path, vecOpts)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { v.Close() }()
	var (
		mu              sync.Mutex
		durable         = readFile(t, path)
		committed, n    int
		pendingLen      = -1
		pending         []byte
		images, refused int
		intact, damaged int
		failed          error
		hook            func(string)
	)
	check := func(at string) {
		crashpoint.SetHook(nil)
		defer crashpoint.SetHook(hook)
		cached := readFile(t, path)
		base := durable
		if pending != nil {
			base = pending
		}
		for range 4 {
			img, _ := torture.Image(rng, base, cached, torture.Model{Garbage: true})
			ip := vecPath(imgDir)
			if err := os.WriteFile(ip, img, 0o644); err != nil {
				t.Fatal(err)
			}
			images++
			bootid.Override(fmt.Sprintf("no-psow-%d", images))
			w, err := mmap.Open[row](ip, &mmap.Options{Tag: vecOpts.Tag, ReadOnly: true})
			bootid.Override("")
			if err != nil {
				if !errors.Is(err, mmap.ErrCorrupt) {
					failed = fmt.Errorf("at %s: want ErrCorrupt or an open, got %v", at, err)
					return
				}
				refused++
				continue
			}
			l := w.Len()
			if l != committed && l != pendingLen {
				w.Close()
				failed = fmt.Errorf("at %s: opened with %d elements, committed %d (in flight %d)", at, l, committed, pendingLen)
				return
			}
			ok := true
			for i, r := range w.Slice() {
				ok = ok && r == mkRow(uint64(i), valOf(uint64(i)))
			}
			w.Close()
			if ok {
				intact++
			} else {
				damaged++
			}
		}
	}
	hook = func(name string) {
		mu.Lock()
		defer mu.Unlock()
		switch name {
		case "vec.sync.slot":
			pending, pendingLen = readFile(t, path), n
		case "vec.sync.done":
			durable, committed, pending, pendingLen = readFile(t, path), n, nil, -1
		}
		if failed == nil && images < want && rng.IntN(4) == 0 {
			check(name)
		}
	}
	crashpoint.SetHook(hook)
	defer crashpoint.SetHook(nil)
	for images < want && failed == nil {
		k := 1 + rng.IntN(300)
		rs := make([]row, k)
		for j := range rs {
			rs[j] = mkRow(uint64(n+j), valOf(uint64(n+j)))
		}
		if err := v.Append(rs...); err != nil {
			t.Fatal(err)
		}
		n += k
		if rng.IntN(3) == 0 {
			if err := v.Sync(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if failed != nil {
		t.Fatal(failed)
	}
	fig.add(&fig.images, images)
	t.Logf("without powersafe overwrite, %d append-only images: %d opened intact, %d refused with ErrCorrupt (garbage in the header's first sector), %d opened at a committed length with committed rows damaged and no error",
		images, intact, refused, damaged)
}
