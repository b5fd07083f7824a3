//go:build unix

package colfile

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/mmapvec/persistence/internal/bootid"
	"github.com/mmapvec/persistence/internal/errs"
	"github.com/mmapvec/persistence/internal/fsutil"
	"github.com/mmapvec/persistence/internal/twoslot"
)

// This file is for checkers and repair tools: it reads what a column file
// says about itself with pread, never maps it, and trusts none of it.

// HeaderFacts are what a column file's header and size say: its element
// type, its two lengths, the boot its last writer ran in, and how many
// elements the file has room for. [ReadHeaderFacts] fills it without
// deciding anything, so that a checker can compare each file's own numbers
// with the other files' and report each mismatch.
type HeaderFacts struct {
	Tag         [8]byte
	DataVersion uint32
	ElemSize    int
	ElemAlign   int
	Fingerprint uint64

	// BootID is the boot the last writer ran in; SameBoot is set when it
	// is the running boot (an unknown boot id is never the same).
	BootID   [16]byte
	SameBoot bool
	// LiveWord is the raw live length word; Live is its length, or -1 when
	// its check bits fail.
	LiveWord uint64
	Live     int
	// Slots are the header's two commit slots; Committed is the length in
	// the valid one with the higher seq, -1 when both fail their CRC.
	Slots     [2]SlotFacts
	Committed int

	// FileSize is the file's size in bytes; Capacity the number of whole
	// elements after the header page; PartialBytes what follows the last
	// whole element (spare room left by a growth that stopped part way).
	FileSize     int64
	Capacity     int
	PartialBytes int
}

// SlotFacts is one commit slot of a column header.
type SlotFacts struct {
	Seq, Length uint64
	// OK is false when the slot fails its CRC (a torn or damaged write).
	OK bool
}

// ReadHeaderFacts reads the header of the column file at path. It fails
// (with an error matching [errs.ErrCorrupt] where the file is damaged) when the
// path is not a regular file, is shorter than a header page, or the
// header's fixed part fails its checks; lengths and slots are reported as
// found, whatever they hold.
func ReadHeaderFacts(path string) (HeaderFacts, error) {
	f, size, err := openRegular(path, os.O_RDONLY)
	if err != nil {
		return HeaderFacts{}, err
	}
	defer f.Close()
	return readFacts(f, path, size)
}

// TrimPartial cuts the bytes past the last whole element of the column
// file at path (left by a growth that stopped part way: zero-writing
// without fallocate, or a file system that sets the size in steps) and
// fsyncs the file. It returns how many bytes it cut; it never removes a
// whole element, so no length can point past the end afterwards.
//
// elemSize is the element size the caller knows the file holds (from a
// table's manifest); a header that says otherwise is [errs.ErrElemType] and
// nothing is cut. The caller must exclude every writer of the file (the
// table's LOCK): a writer that grew the file between the size check and
// the truncation would lose the bytes it added.
func TrimPartial(path string, elemSize int) (int, error) {
	f, size, err := openRegular(path, os.O_RDWR)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	facts, err := readFacts(f, path, size)
	if err != nil {
		return 0, err
	}
	if facts.ElemSize != elemSize {
		return 0, errs.File(path, errs.ErrElemType, "header says %d-byte elements, expected %d; not trimmed", facts.ElemSize, elemSize)
	}
	if facts.PartialBytes == 0 {
		return 0, nil
	}
	whole := size - int64(facts.PartialBytes)
	if err := f.Truncate(whole); err != nil {
		return 0, err
	}
	if err := f.Sync(); err != nil { // a size change is metadata: fsync, not fdatasync
		return 0, err
	}
	return facts.PartialBytes, nil
}

// openRegular opens path as fsutil.OpenRegular does (never a symlink,
// never blocking, checked on the descriptor), a file of another kind being
// corruption; it returns the file's size.
func openRegular(path string, flag int) (*os.File, int64, error) {
	f, err := fsutil.OpenRegular(path, flag, 0)
	if errors.Is(err, fsutil.ErrNotRegular) {
		return nil, 0, &errs.FileError{Path: path, Err: errs.ErrCorrupt, Detail: err.Error()}
	}
	if err != nil {
		return nil, 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, fi.Size(), nil
}

func readFacts(f *os.File, path string, size int64) (HeaderFacts, error) {
	var x HeaderFacts
	if size < headerSize {
		return x, errs.File(path, errs.ErrTruncated, "file is %d bytes, the header alone is %d", size, headerSize)
	}
	page := make([]byte, headerSize)
	if _, err := f.ReadAt(page, 0); err != nil {
		if errors.Is(err, io.EOF) {
			return x, errs.File(path, errs.ErrTruncated, "file shrank while its header was read")
		}
		return x, &os.PathError{Op: "read header", Path: path, Err: err}
	}
	// The fixed part in this machine's byte order: a checker compares
	// numbers, and a file of the other order is refused here with the
	// error that says how to convert it.
	h, err := decodeHeader(path, page)
	if err != nil {
		return x, err
	}
	x.Tag, x.DataVersion, x.Fingerprint, x.BootID = h.tag, h.dataVersion, h.fingerprint, [16]byte(h.bootID)
	x.ElemSize, x.ElemAlign = int(h.elemSize), int(h.elemAlign)
	x.SameBoot = bootid.Same(h.bootID, bootid.Current()) // an unknown boot never matches

	x.LiveWord = ne.Uint64(page[offLive:])
	x.Live = -1
	if n, ok := parseLiveWord(x.LiveWord); ok {
		x.Live = n
	}
	x.Committed = -1
	for i := range 2 {
		s, ok := decodeSlot(i, page[slotOffset(i):])
		x.Slots[i] = SlotFacts{Seq: s.seq, Length: s.length, OK: ok}
	}
	if best, _, ok := twoslot.Newer(x.Slots[0].OK, x.Slots[1].OK, x.Slots[0].Seq, x.Slots[1].Seq); ok {
		x.Committed = int(min(x.Slots[best].Length, maxLen+1)) // past maxLen: past any file, and no overflow
	}

	// Unsigned arithmetic on the size: a file larger than int is still
	// described, not wrapped.
	body := uint64(size) - headerSize
	es := uint64(h.elemSize) // non-zero: decodeHeader checked it
	x.FileSize = size
	x.Capacity = int(min(body/es, maxLen+1))
	x.PartialBytes = int(body % es)
	return x, nil
}

// String describes the facts in one line, for a checker's report.
func (x HeaderFacts) String() string {
	return fmt.Sprintf("%d-byte elements, live length %d, committed %d, capacity %d, %d bytes", x.ElemSize, x.Live, x.Committed, x.Capacity, x.FileSize)
}

// SetDataVersion rewrites the data version in the header of the column file
// at path (its fixed fields and their CRC, one write within the first
// sector) and makes it durable: a table's migration to a new data version
// does it to every column once the manifest has switched.
func SetDataVersion(path string, v uint32) error {
	f, _, err := openRegular(path, os.O_RDWR)
	if err != nil {
		return err
	}
	defer f.Close()
	page := make([]byte, headerSize)
	if _, err := f.ReadAt(page, 0); err != nil {
		return &os.PathError{Op: "read header", Path: path, Err: err}
	}
	h, err := decodeHeader(path, page)
	if err != nil || h.dataVersion == v {
		return err
	}
	h.dataVersion = v
	h.encodeFixed(page)
	if _, err := f.WriteAt(page[:offHeaderCRC+4], 0); err != nil {
		return &os.PathError{Op: "write header", Path: path, Err: err}
	}
	return fsutil.DataSync(f)
}
