package mmap

import (
	"fmt"
	"os"

	"github.com/mmapvec/persistence/internal/bootid"
	"github.com/mmapvec/persistence/internal/crashpoint"
)

// A file has two lengths: the live one, a plain store into the mapped header
// per append (it survives a crash of the process, not of the OS), and the
// committed one, written into one of two checksummed slots by Sync. Which
// one to trust depends on the boot the last writer ran in.

// Adopt makes this boot's writer the owner of the file's length: it sets
// the length to n (at most Cap) and then records the running boot's id in
// the header. In that order, a crash between the two still trusts only the
// committed length on the next open. [OpenRaw] adopts by itself unless
// [Options.ExternalCommit] is set.
func (r *Raw) Adopt(n int) error {
	if err := r.check(true); err != nil {
		return err
	}
	if n < 0 || n > r.capacity {
		return fileErr(r.path, ErrLengthBeyondFile, "length %d, the file holds %d elements", n, r.capacity)
	}
	r.SetLen(n)
	boot := bootid.Current()
	if r.bootID == boot {
		return nil
	}
	crashpoint.Hit("vec.adopt.bootid")
	if _, err := r.f.WriteAt(boot[:], offBootID); err != nil {
		return &os.PathError{Op: "write header", Path: r.path, Err: err}
	}
	r.bootID = boot
	return nil
}

// chooseLength decides which length to trust: the live one if the last
// writer ran in this boot, the committed one otherwise.
func (r *Raw) chooseLength(page []byte, h header) error {
	s0, ok0 := decodeSlot(0, page[offSlot0:])
	s1, ok1 := decodeSlot(1, page[offSlot1:])
	switch {
	case !ok0 && !ok1:
		return fileErr(r.path, ErrChecksum, "both commit slots fail their CRC")
	case ok0 && (!ok1 || s0.seq > s1.seq):
		r.slotSeq, r.slotIdx = s0.seq, 0
		r.recovery.Committed = int(min(s0.length, maxLen+1))
	default:
		r.slotSeq, r.slotIdx = s1.seq, 1
		r.recovery.Committed = int(min(s1.length, maxLen+1))
	}
	r.recovery.SlotFallback = !ok0 || !ok1
	r.recovery.Live = -1
	n := r.recovery.Committed
	r.recovery.Trusted = "committed"
	if r.external {
		n, r.recovery.Committed = 0, 0 // the caller decides; see Adopt
	}
	if bootid.Same(h.bootID, bootid.Current()) {
		live, ok := parseLiveWord(ne.Uint64(page[offLive:]))
		if !ok {
			return fileErr(r.path, ErrChecksum, "live length word %#016x fails its check bits", ne.Uint64(page[offLive:]))
		}
		r.recovery.Live, r.recovery.Trusted, n = live, "live", live
	}
	if n > r.capacity {
		return fileErr(r.path, ErrLengthBeyondFile, "%s length %d, the file holds %d elements", r.recovery.Trusted, n, r.capacity)
	}
	r.recovery.Length = n
	r.n = n
	return nil
}

// SetViewLen sets the length a read-only Raw shows, without writing to the
// file: a read-only table shows its columns at the length that recovery
// decided. n must be at most Cap.
func (r *Raw) SetViewLen(n int) error {
	if r.closed {
		return ErrClosed
	}
	if n < 0 || n > r.capacity {
		return fileErr(r.path, ErrLengthBeyondFile, "length %d, the file holds %d elements", n, r.capacity)
	}
	r.n = n
	return nil
}

// SetLen publishes a new length: element bytes below it must be written
// first. It stores the live length word (a plain store into the mapped
// header), so a process crash keeps it.
// n must be at most Cap.
func (r *Raw) SetLen(n int) {
	if n < 0 || n > r.capacity {
		panic(fmt.Sprintf("mmap: SetLen(%d) out of range [0, %d]", n, r.capacity))
	}
	crashpoint.Hit("vec.setlen")
	r.Publish(n)
}

// Publish is [Raw.SetLen] for hot loops of callers that checked n
// themselves (0 <= n <= Cap): two plain stores, inlined.
func (r *Raw) Publish(n int) {
	// A plain aligned store: it reaches the page cache whatever happens to
	// the process next, and mapped memory is not Go memory.
	*r.live = liveWord(n)
	r.n = n
}

// Truncate shortens the Vec to n elements (n <= Len). The file keeps its
// size; the space is reused by later appends.
func (r *Raw) Truncate(n int) error {
	if err := r.check(true); err != nil {
		return err
	}
	if n < 0 || n > r.Len() {
		return fmt.Errorf("mmap: %s: Truncate(%d) outside [0, %d]", r.path, n, r.Len())
	}
	r.SetLen(n)
	return nil
}

