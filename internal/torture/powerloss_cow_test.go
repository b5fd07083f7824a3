package torture_test

import (
	"bytes"
	"testing"

	"github.com/mmapvec/persistence/internal/torture"
)

// TestImageCopyOnWrite checks the copy-on-write mode of the power-loss
// model itself: without a transaction the image is the file as its last
// fsync left it, whatever reached the device since; with one, each changed
// page is old or new whole (never torn, never garbage), and the size is the
// durable or the cached one.
func TestImageCopyOnWrite(t *testing.T) {
	s := seed(t)
	rng := newRand(s)
	const pages = 6
	durable := bytes.Repeat([]byte{0xd0}, pages*torture.PageSize)
	var plain, caught, grown int
	for range 400 {
		cached := bytes.Repeat([]byte{0xc0}, (pages+rng.IntN(3))*torture.PageSize)
		copy(cached, durable[:torture.PageSize]) // page 0 unchanged
		img, loss := torture.Image(rng, durable, cached, torture.Model{CopyOnWrite: true, Garbage: true})
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
		for off := 0; off < len(img); off += torture.PageSize {
			page := img[off : off+torture.PageSize]
			fate, changed := loss.Pages[off/torture.PageSize]
			want := cached[off : off+torture.PageSize]
			switch {
			case changed && fate == torture.Applied:
			case off < len(durable):
				want = durable[off : off+torture.PageSize]
			default:
				// Past the durable size, the transaction kept the new
				// size but not the page: allocated, never written.
				want = make([]byte, torture.PageSize)
			}
			if !bytes.Equal(page, want) {
				t.Fatalf("page %d (fate %v, changed %v) is neither whole old nor whole new as its fate says", off/torture.PageSize, fate, changed)
			}
		}
	}
	if plain == 0 || caught == 0 || grown == 0 {
		t.Errorf("cases not reached: %d images without a transaction, %d with one, %d of them grown", plain, caught, grown)
	}
}

// TestTablePowerLossCopyOnWrite is TestTablePowerLoss on a copy-on-write
// file system (btrfs): a file keeps only what its own last fdatasync made
// durable (or what a file-system transaction caught), so a Sync that wrote
// back a column and flushed the device through another file's fdatasync
// would lose that column's rows, committed or changed in place. Every image
// must still open at the last Sync (or the one in flight) with its rows.
func TestTablePowerLossCopyOnWrite(t *testing.T) {
	tablePowerLoss(t, torture.Model{CopyOnWrite: true}, scale(200, 500, 3000))
}
