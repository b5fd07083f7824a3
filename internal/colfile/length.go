//go:build unix

package colfile

import (
	"sync/atomic"

	"os"

	"github.com/mmapvec/persistence/internal/bootid"
	"github.com/mmapvec/persistence/internal/crashpoint"
	"github.com/mmapvec/persistence/internal/errs"
	"github.com/mmapvec/persistence/internal/twoslot"
)

// A file has two lengths: the live one, a plain store into the mapped header
// per append (it survives a crash of the process, not of the OS), and the
// committed one, written into one of two checksummed slots by Sync. Which
// one to trust depends on the boot the last writer ran in; the file only
// reports them (readFacts) and its owner decides.

// readFacts reads the lengths from the header page, read with pread before
// anything is mapped.
func (r *File) readFacts(page []byte, h header) error {
	s0, ok0 := decodeSlot(0, page[offSlot0:])
	s1, ok1 := decodeSlot(1, page[offSlot1:])
	idx, fallback, ok := twoslot.Newer(ok0, ok1, s0.seq, s1.seq)
	if !ok {
		return errs.File(r.path, errs.ErrChecksum, "both commit slots fail their CRC")
	}
	s := [2]slot{s0, s1}[idx]
	r.slotSeq, r.slotIdx = s.seq, idx
	// Lengths are ints from here on; a committed length past the format's
	// limit is past any file, and the owner's check against Cap reports it.
	r.facts.Committed = int(min(s.length, maxLen+1))
	r.facts.SlotFallback = fallback
	r.facts.Live, r.facts.LiveOK = parseLiveWord(ne.Uint64(page[offLive:]))
	if !r.facts.LiveOK {
		r.facts.Live = 0
	}
	r.facts.SameBoot = bootid.Same(h.bootID, bootid.Current())
	return nil
}

// SetLen sets the length to n, which must lie within [0, Cap]. On a
// writable file it stores the live length word (a plain store into the
// mapped header), so a crash of the process keeps it; elements below n must
// be written first. On a read-only file it only sets the length shown.
func (r *File) SetLen(n int) error {
	if r.closed {
		return errs.ErrClosed
	}
	if n < 0 || n > r.capacity {
		return errs.File(r.path, errs.ErrLengthBeyondFile, "length %d, the file holds %d elements", n, r.capacity)
	}
	if r.readOnly {
		r.n = n
		return nil
	}
	r.Publish(n)
	return nil
}

// Publish is [File.SetLen] for the hot loops of an owner that checked n
// (0 <= n <= Cap) and writes: two plain stores, inlined.
func (r *File) Publish(n int) { r.PublishWord(LiveWord(n), n) }

// LiveWord is the live length word of length n, for owners that publish
// one length into many files ([File.PublishWord]).
func LiveWord(n int) uint64 { return liveWord(n) }

// ParseLiveWord returns the length a live word holds, or false if its
// check bits do not match.
func ParseLiveWord(w uint64) (int, bool) { return parseLiveWord(w) }

// PublishWord is [File.Publish] of n with its word w = LiveWord(n)
// computed once by the caller.
func (r *File) PublishWord(w uint64, n int) {
	// A plain aligned store: it reaches the page cache whatever happens to
	// the process next, and mapped memory is not Go memory.
	*r.live = w
	r.n = n
}

// Adopt records the running boot's id in the header, making the live
// length this boot's: call it after [File.SetLen] of the length the owner
// decided. In that order, a crash between the two still finds the old boot
// id and trusts only what was committed.
func (r *File) Adopt() error {
	if err := r.Check(true); err != nil {
		return err
	}
	boot := bootid.Current()
	if r.bootID == boot {
		return nil
	}
	crashpoint.Hit("vec.adopt.bootid")
	if _, err := r.f.WriteAt(boot[:], offBootID); err != nil {
		return r.poisonOn(&os.PathError{Op: "write header", Path: r.path, Err: err})
	}
	r.bootID = boot
	return nil
}

// LiveLen reads the live length word as the file holds it now: for a
// reader, the length its writer in another process last published (an
// atomic load, so a word is never seen half-stored). ok is false when its
// check bits fail or the file is closed.
func (r *File) LiveLen() (n int, ok bool) {
	if r.closed || r.live == nil {
		return 0, false
	}
	return parseLiveWord(atomic.LoadUint64(r.live))
}
