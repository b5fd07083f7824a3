// Package powerloss models what a file holds after the power goes: from
// the content that the file's last completed sync made durable and the
// content the page cache held at the cut, [Image] draws one disk image that
// the machine may boot with, and a [Loss] that says what became of each page.
//
// The default model is that of SQLite's crash-test VFS on a file system
// that overwrites in place (ext4, XFS): each page written since the sync
// reached the disk, did not, or was torn sector by sector, with garbage in
// the sector being written ([Model.Garbage]) unless the disk keeps bytes
// rewritten with their own value ([Model.PowersafeOverwrite]). Under
// [Model.CopyOnWrite] (btrfs; XFS on reflinked extents) a file keeps only
// what its own fsync, or a commit of a file-system transaction, made
// durable, and a page is never torn.
//
// The crash tests in internal/torture build images with it at chosen
// moments of a workload and open each as after a reboot;
// internal/torture/realfs checks the same promises on real file systems.
// The model is test machinery: nothing in the library imports it.
package powerloss

import (
	"bytes"
	"fmt"
	"math/rand/v2"
)

// The units of the model: the kernel writes a file back a page at a time,
// and the disk writes a page as sectors.
const (
	PageSize   = 4096
	SectorSize = 512
)

// Fate is what became of one page written since the last sync when the
// power went.
type Fate uint8

const (
	Applied Fate = iota // the page reached the disk
	Dropped             // the disk still has the durable page
	Torn                // some sectors reached the disk, and one may hold garbage
)

func (f Fate) String() string {
	switch f {
	case Applied:
		return "applied"
	case Dropped:
		return "dropped"
	case Torn:
		return "torn"
	}
	return fmt.Sprintf("Fate(%d)", uint8(f))
}

// Loss describes one image: its size, the fate of every page that
// differed between the durable and the cached content, and the byte ranges
// that were filled with garbage. A page absent from Pages was equal on both
// sides, and the image holds it unchanged.
type Loss struct {
	Size    int          // bytes in the image: the durable or the cached size
	Pages   map[int]Fate // by page index (offset / PageSize)
	Garbage [][2]int     // [start, end) file offsets, in increasing order
	// Transaction is set, under [Model.CopyOnWrite], when a commit of the
	// whole file system (btrfs commits every 30 s, and whenever another
	// file is fsynced in a way that needs one) caught some of the pages
	// written since the file's own last fsync.
	Transaction bool
}

// GarbageIn reports whether garbage landed in [off, off+n).
func (l Loss) GarbageIn(off, n int) bool {
	for _, g := range l.Garbage {
		if g[1] > off && g[0] < off+n {
			return true
		}
	}
	return false
}

// Model says how a disk fails when the power goes during a write.
type Model struct {
	// Garbage: the sector being written when the power went holds random
	// bytes.
	Garbage bool
	// PowersafeOverwrite: garbage only lands on bytes that the write
	// changes; bytes rewritten with their own value survive (SQLite's
	// SQLITE_IOCAP_POWERSAFE_OVERWRITE, true of modern disks). Without it,
	// a whole sector may be lost.
	PowersafeOverwrite bool
	// CopyOnWrite models a file system that never overwrites a block in
	// place (btrfs; XFS on extents shared by a reflink): a changed page is
	// written to a new block, and the pointer to that block, like a new
	// size, is metadata that only an fsync of this very file (or a commit
	// of a file-system transaction) makes durable. Data that reached the
	// device by write-back alone (sync_file_range, the kernel's flusher, an
	// fsync of another file) is lost: the file reads as its own last fsync
	// left it. Under it, the durable content given to [Image] must be the
	// file as its last fsync left it, not as the last commit of a table or
	// Vec found it. Pages are never torn and never hold garbage, since the
	// old block is never written: Garbage and PowersafeOverwrite do not
	// apply.
	CopyOnWrite bool
}

// Image returns what a file may hold after a power loss, modelled on
// SQLite's crash-test VFS: durable is the content the last completed sync
// made durable, cached what the page cache held when the power went. Each
// page whose content differs is applied, dropped or torn; a torn page has
// each sector from one side or the other, and, as the model says, one of
// its sectors holds garbage (the sector being written when the power went).
// The size is the durable or the cached one; pages past the durable size
// that did not reach the disk read as zeros (allocated, never written).
// Every choice is drawn from rng, so a seed replays an image.
//
// Under [Model.CopyOnWrite] durable is the file as its own last fsync left
// it, and the image is that, unless a file-system transaction committed
// since: then each changed page is applied or dropped whole, and the size
// is the durable or the cached one.
func Image(rng *rand.Rand, durable, cached []byte, model Model) ([]byte, Loss) {
	if model.CopyOnWrite {
		return cowImage(rng, durable, cached)
	}
	size := len(durable)
	if len(cached) != len(durable) && rng.IntN(2) == 0 {
		size = len(cached)
	}
	img := make([]byte, size)
	copy(img, durable)
	loss := Loss{Size: size, Pages: map[int]Fate{}}
	for off := 0; off < size; off += PageSize {
		end := min(off+PageSize, size)
		oldPage := window(durable, off, end)
		newPage := window(cached, off, end)
		if bytes.Equal(oldPage, newPage) {
			continue
		}
		p := off / PageSize
		switch k := rng.IntN(10); {
		case k < 4:
			loss.Pages[p] = Applied
			copy(img[off:end], newPage)
		case k < 8:
			loss.Pages[p] = Dropped
		default:
			loss.Pages[p] = Torn
			trash := -1
			if model.Garbage {
				trash = off + SectorSize*rng.IntN((end-off+SectorSize-1)/SectorSize)
			}
			for s := off; s < end; s += SectorSize {
				e := min(s+SectorSize, end)
				switch {
				case s == trash:
					run := -1
					for i := s; i <= e; i++ {
						keep := i == e || (model.PowersafeOverwrite && oldPage[i-off] == newPage[i-off])
						switch {
						case keep && run >= 0:
							loss.Garbage = append(loss.Garbage, [2]int{run, i})
							run = -1
						case !keep && run < 0:
							run = i
						}
						if i == e {
							break
						}
						if keep {
							img[i] = oldPage[i-off]
						} else {
							img[i] = byte(rng.Uint32())
						}
					}
				case rng.IntN(2) == 0:
					copy(img[s:e], newPage[s-off:e-off])
				}
			}
		}
	}
	return img, loss
}

// cowImage is [Image] under [Model.CopyOnWrite].
func cowImage(rng *rand.Rand, durable, cached []byte) ([]byte, Loss) {
	// Half of the images: no transaction committed since the file's last
	// fsync, and every page written since, even one that reached the
	// device, hangs off a block pointer that was never made durable.
	loss := Loss{Transaction: rng.IntN(2) == 0, Pages: map[int]Fate{}}
	size := len(durable)
	if loss.Transaction && len(cached) != len(durable) && rng.IntN(2) == 0 {
		size = len(cached)
	}
	loss.Size = size
	img := make([]byte, size)
	copy(img, durable)
	for off := 0; off < size; off += PageSize {
		end := min(off+PageSize, size)
		newPage := window(cached, off, end)
		if bytes.Equal(window(durable, off, end), newPage) {
			continue
		}
		p := off / PageSize
		if !loss.Transaction || rng.IntN(2) == 0 {
			loss.Pages[p] = Dropped
			continue
		}
		// The transaction caught this page: the new block and the
		// pointer to it became durable together.
		loss.Pages[p] = Applied
		copy(img[off:end], newPage)
	}
	return img, loss
}

// window returns b[off:end], zero-filled where b is shorter.
func window(b []byte, off, end int) []byte {
	w := make([]byte, end-off)
	if off < len(b) {
		copy(w, b[off:min(end, len(b))])
	}
	return w
}
