package powerloss_test

import (
	"bytes"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/mmapvec/persistence/internal/powerloss"
	"github.com/mmapvec/persistence/internal/testseed"
)

// newRand returns the generator of a randomized test, seeded from
// PERSIST_SEED if set, and logs the seed so that a failure can be replayed.
func newRand(t *testing.T) (*rand.Rand, uint64) {
	t.Helper()
	s := testseed.Seed(t)
	return testseed.Rand(s), s
}

const page = powerloss.PageSize

// fileOf returns n bytes of value b, then, over the first page, a pattern
// that a torn page's sectors can be told apart by.
func fileOf(n int, b byte) []byte {
	f := bytes.Repeat([]byte{b}, n)
	for i := 0; i < min(n, page); i += 3 {
		f[i] = byte(i)
	}
	return f
}

// pageOf returns page p of f, zero-filled past its end.
func pageOf(f []byte, p int) []byte {
	w := make([]byte, page)
	if off := p * page; off < len(f) {
		copy(w, f[off:min(off+page, len(f))])
	}
	return w
}

// TestImageInPlace checks the properties of the in-place model that the
// torture tests rely on, over many random images: a page equal on both
// sides is never touched; an applied page is the cached one, a dropped
// page the durable one; each sector of a torn page comes whole from one
// side, but for garbage; garbage lies in torn pages, at most one sector of
// each, and under powersafe overwrite only on bytes the write changed; the
// size is the durable or the cached one.
func TestImageInPlace(t *testing.T) {
	rng, _ := newRand(t)
	for _, model := range []powerloss.Model{
		{},
		{Garbage: true},
		{Garbage: true, PowersafeOverwrite: true},
	} {
		t.Run(modelName(model), func(t *testing.T) {
			fates := map[powerloss.Fate]int{}
			sizes := map[string]int{}
			garbage := 0
			for range 300 {
				durable := fileOf(page*(2+rng.IntN(4)), 0xd0)
				cached := fileOf(page*(2+rng.IntN(4)), 0xd0)
				// Page 1 keeps the durable content; the others change in
				// a few bytes or whole.
				copy(cached[page:2*page], durable[page:2*page])
				for p := 2; p*page < len(cached); p++ {
					if rng.IntN(2) == 0 {
						cached[p*page+rng.IntN(page)] ^= 0xff
					} else {
						copy(cached[p*page:(p+1)*page], bytes.Repeat([]byte{0xc0}, page))
					}
				}
				cached[7] ^= 0xff // page 0 changes in one byte
				img, loss := powerloss.Image(rng, durable, cached, model)
				switch {
				case len(img) != loss.Size:
					t.Fatalf("image of %d bytes, loss says %d", len(img), loss.Size)
				case len(img) == len(durable):
					sizes["durable"]++
				case len(img) == len(cached):
					sizes["cached"]++
				default:
					t.Fatalf("image of %d bytes; durable %d, cached %d", len(img), len(durable), len(cached))
				}
				if _, ok := loss.Pages[1]; ok || !bytes.Equal(img[page:2*page], durable[page:2*page]) {
					t.Fatalf("page 1 is equal on both sides, yet it was touched (%+v)", loss)
				}
				for p := 0; p*page < len(img); p++ {
					got, was, now := img[p*page:(p+1)*page], pageOf(durable, p), pageOf(cached, p)
					fate, changed := loss.Pages[p]
					if changed == bytes.Equal(was, now) {
						t.Fatalf("page %d: in Pages %v, yet changed %v", p, changed, !bytes.Equal(was, now))
					}
					if !changed {
						continue
					}
					fates[fate]++
					checkPage(t, p, fate, got, was, now, loss, model)
				}
				for _, g := range loss.Garbage {
					if fate := loss.Pages[g[0]/page]; fate != powerloss.Torn || g[0]/page != (g[1]-1)/page {
						t.Fatalf("garbage %v outside one torn page (fate %v)", g, fate)
					}
					// Ranges of two torn pages may touch: only their own
					// ends are checked.
					if !loss.GarbageIn(g[0], 1) || !loss.GarbageIn(g[1]-1, 1) || loss.GarbageIn(g[0], 0) {
						t.Fatalf("GarbageIn disagrees with the range %v", g)
					}
					garbage++
				}
			}
			if fates[powerloss.Applied] == 0 || fates[powerloss.Dropped] == 0 || fates[powerloss.Torn] == 0 ||
				sizes["durable"] == 0 || sizes["cached"] == 0 || (model.Garbage && garbage == 0) {
				t.Errorf("cases not reached: fates %v, sizes %v, %d garbage ranges", fates, sizes, garbage)
			}
			t.Logf("fates %v, sizes %v, %d garbage ranges", fates, sizes, garbage)
		})
	}
}

// checkPage checks one changed page of an image against its fate.
func checkPage(t *testing.T, p int, fate powerloss.Fate, got, was, now []byte, loss powerloss.Loss, model powerloss.Model) {
	t.Helper()
	switch fate {
	case powerloss.Applied:
		if !bytes.Equal(got, now) {
			t.Fatalf("page %d applied, but it is not the cached page", p)
		}
	case powerloss.Dropped:
		if !bytes.Equal(got, was) {
			t.Fatalf("page %d dropped, but it is not the durable page", p)
		}
	case powerloss.Torn:
		trashed := 0
		for s := 0; s < page; s += powerloss.SectorSize {
			e := s + powerloss.SectorSize
			if bytes.Equal(got[s:e], was[s:e]) || bytes.Equal(got[s:e], now[s:e]) {
				continue
			}
			trashed++
			if !loss.GarbageIn(p*page+s, powerloss.SectorSize) {
				t.Fatalf("page %d, sector at %d: a mix of was and now bytes without garbage", p, s)
			}
			for i := s; i < e; i++ {
				off := p*page + i
				switch {
				case !loss.GarbageIn(off, 1) && got[i] != was[i] && got[i] != now[i]:
					t.Fatalf("page %d, byte %d: neither old nor new, and not in a garbage range %v", p, i, loss.Garbage)
				case loss.GarbageIn(off, 1) && model.PowersafeOverwrite && was[i] == now[i]:
					t.Fatalf("page %d, byte %d: garbage on a byte the write did not change, under powersafe overwrite", p, i)
				}
			}
		}
		if trashed > 1 || (trashed == 1 && !model.Garbage) {
			t.Fatalf("page %d: %d sectors hold garbage (model %+v)", p, trashed, model)
		}
	default:
		t.Fatalf("page %d: unknown fate %v", p, fate)
	}
}

func modelName(m powerloss.Model) string {
	switch {
	case m.CopyOnWrite:
		return "copy-on-write"
	case m.Garbage && m.PowersafeOverwrite:
		return "garbage, powersafe overwrite"
	case m.Garbage:
		return "garbage"
	}
	return "no garbage"
}

// TestImageUnchanged: a file that the page cache holds as the last sync
// left it comes back as it is, under every model.
func TestImageUnchanged(t *testing.T) {
	rng, _ := newRand(t)
	f := fileOf(3*page+100, 0x5a)
	for _, model := range []powerloss.Model{{}, {Garbage: true, PowersafeOverwrite: true}, {CopyOnWrite: true}} {
		for range 20 {
			img, loss := powerloss.Image(rng, f, bytes.Clone(f), model)
			if !bytes.Equal(img, f) || len(loss.Pages) != 0 || len(loss.Garbage) != 0 {
				t.Fatalf("%s: an unchanged file came back changed (%+v)", modelName(model), loss)
			}
		}
	}
}

// TestImageReplays: the same seed draws the same image and loss.
func TestImageReplays(t *testing.T) {
	_, s := newRand(t)
	durable, cached := fileOf(4*page, 1), fileOf(6*page, 2)
	for _, model := range []powerloss.Model{{Garbage: true}, {CopyOnWrite: true}} {
		a, la := powerloss.Image(rand.New(rand.NewPCG(s, 1)), durable, cached, model)
		b, lb := powerloss.Image(rand.New(rand.NewPCG(s, 1)), durable, cached, model)
		if !bytes.Equal(a, b) || !reflect.DeepEqual(la, lb) {
			t.Fatalf("%s: one seed drew two images", modelName(model))
		}
	}
}

// TestImageCopyOnWrite checks the copy-on-write mode: without a
// transaction the image is the file as its last fsync left it, whatever
// reached the device since; with one, each changed page is old or new
// whole (never torn, never garbage), and the size is the durable or the
// cached one.
func TestImageCopyOnWrite(t *testing.T) {
	rng, _ := newRand(t)
	const pages = 6
	durable := bytes.Repeat([]byte{0xd0}, pages*page)
	var plain, caught, grown int
	for range 400 {
		cached := bytes.Repeat([]byte{0xc0}, (pages+rng.IntN(3))*page)
		copy(cached, durable[:page]) // page 0 unchanged
		img, loss := powerloss.Image(rng, durable, cached, powerloss.Model{CopyOnWrite: true, Garbage: true})
		if len(loss.Garbage) > 0 {
			t.Fatalf("garbage %v: a copy-on-write file system never writes the old block", loss.Garbage)
		}
		if len(img) != loss.Size || (len(img) != len(durable) && len(img) != len(cached)) {
			t.Fatalf("image of %d bytes (loss says %d); durable %d, cached %d", len(img), loss.Size, len(durable), len(cached))
		}
		if !loss.Transaction {
			plain++
			if !bytes.Equal(img, durable) {
				t.Fatalf("no transaction since the fsync, yet the image is not the fsynced file (%+v)", loss)
			}
			continue
		}
		caught++
		if len(img) > len(durable) {
			grown++
		}
		for off := 0; off < len(img); off += page {
			got := img[off : off+page]
			fate, changed := loss.Pages[off/page]
			want := cached[off : off+page]
			switch {
			case changed && fate == powerloss.Torn:
				t.Fatalf("page %d torn: a copy-on-write file system writes a page to a new block whole", off/page)
			case changed && fate == powerloss.Applied:
			case off < len(durable):
				want = durable[off : off+page]
			default:
				// Past the durable size, the transaction kept the new
				// size but not the page: allocated, never written.
				want = make([]byte, page)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("page %d (fate %v, changed %v) is neither whole old nor whole new as its fate says", off/page, fate, changed)
			}
		}
	}
	if plain == 0 || caught == 0 || grown == 0 {
		t.Errorf("cases not reached: %d images without a transaction, %d with one, %d of them grown", plain, caught, grown)
	}
}

func TestFateString(t *testing.T) {
	for f, want := range map[powerloss.Fate]string{powerloss.Applied: "applied", powerloss.Dropped: "dropped", powerloss.Torn: "torn", 7: "Fate(7)"} {
		if got := f.String(); got != want {
			t.Errorf("Fate %d prints %q, want %q", uint8(f), got, want)
		}
	}
}
