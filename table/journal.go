package table

import (
	"errors"
	"fmt"
	"hash/crc32"
	"os"

	"golang.org/x/sys/unix"

	"github.com/mmapvec/persistence/internal/crashpoint"
	"github.com/mmapvec/persistence/internal/fsutil"
)

// The JOURNAL holds at most one intent: the operation in progress that
// changes rows in place across columns (SetRow, SwapRemove, Truncate,
// Delete, DeleteFunc). It is
// written before the columns are touched and cleared after, through a
// shared mapping, so it costs memory stores rather than syscalls and
// survives a process crash in the page cache. A valid intent found on open
// is redone; every redo is idempotent.
const (
	journalFile  = "JOURNAL"
	journalMagic = 0x544E5449 // "ITNT" little-endian
	journalHead  = 64         // fixed fields, then the packed row
)

type intentOp uint8

const (
	opSetRow intentOp = iota + 1
	opSwapRemove
	opTruncate
	// A stable delete: the rows kept after the first removed one were
	// staged past the row count; redo copies them down (see delete.go).
	opDelete
	opDeleteFunc
)

func (op intentOp) String() string {
	switch op {
	case opSetRow:
		return "SetRow"
	case opSwapRemove:
		return "SwapRemove"
	case opTruncate:
		return "Truncate"
	case opDelete:
		return "Delete"
	case opDeleteFunc:
		return "DeleteFunc"
	}
	return fmt.Sprintf("op(%d)", op)
}

// intent is a decoded journal record.
type intent struct {
	op         intentOp
	commitSeq  uint64 // COMMIT sequence when it was written
	index      uint64 // row to write (SetRow, SwapRemove), new length (Truncate) or first row removed (Delete, DeleteFunc)
	rowsBefore uint64 // row count before the operation
	row        []byte // packed row (SetRow: the new row; SwapRemove: the last row); none for a delete
	kept       uint64 // Delete, DeleteFunc: rows staged at rowsBefore, to land at index
	stagedCRC  uint32 // Delete, DeleteFunc: CRC-32C of the staged rows, column by column
}

// staged reports whether op keeps its data in the columns past the row
// count rather than in the record: those records carry no packed row, and
// their checksum also covers the fields at [40, 64).
func (op intentOp) staged() bool { return op == opDelete || op == opDeleteFunc }

// journalSize is the file size for packed rows of rowSize bytes.
func journalSize(rowSize int) int { return (journalHead + rowSize + 4095) &^ 4095 }

type journal struct {
	f   *os.File
	buf []byte // the mapping
}

// openJournal opens (creating or resizing) the writable journal.
func openJournal(path string, rowSize int) (*journal, error) {
	f, err := openTableFile(path, os.O_RDWR|os.O_CREATE)
	if err != nil {
		return nil, err
	}
	size := journalSize(rowSize)
	fi, err := f.Stat()
	if err == nil && fi.Size() != int64(size) {
		// Only ever changed with no intent pending (it was redone first);
		// allocated before it is mapped, as READERS is.
		if err = f.Truncate(0); err == nil {
			err = fsutil.Allocate(f, 0, int64(size))
		}
	} else if err == nil {
		// A journal made sparse (by an earlier version) gets its blocks
		// now, keeping a pending intent, so a full disk is this error.
		err = fsutil.FillHoles(f, 0, int64(size))
	}
	var buf []byte
	if err == nil {
		buf, err = unix.Mmap(int(f.Fd()), 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	}
	if err != nil {
		f.Close()
		return nil, &os.PathError{Op: "journal", Path: path, Err: err}
	}
	return &journal{f: f, buf: buf}, nil
}

// write records an intent: row bytes and fields first, the checksum last,
// so a crash part-way leaves a record that fails its check and is ignored.
func (j *journal) write(in intent) {
	b := j.buf
	crashpoint.Hit("table.intent.write")
	ne.PutUint32(b[0:], 0)
	copy(b[journalHead:], in.row)
	b[4] = byte(in.op)
	ne.PutUint64(b[8:], in.commitSeq)
	ne.PutUint64(b[16:], in.index)
	ne.PutUint64(b[24:], in.rowsBefore)
	ne.PutUint32(b[32:], uint32(len(in.row)))
	ne.PutUint64(b[40:], in.kept)
	ne.PutUint32(b[48:], in.stagedCRC)
	clear(b[52:journalHead])
	ne.PutUint32(b[0:], journalMagic)
	ne.PutUint32(b[36:], journalCRC(b, len(in.row)))
	crashpoint.Hit("table.intent.written")
}

// clear marks the journal empty: the record's magic is zeroed.
func (j *journal) clear() {
	crashpoint.Hit("table.intent.clear")
	ne.PutUint32(j.buf[0:], 0)
}

func (j *journal) close() error {
	if j == nil {
		return nil
	}
	return errors.Join(unix.Munmap(j.buf), j.f.Close())
}

// journalCRC is the record's checksum: [0, 36), then for the staged ops
// [40, 64) (records of the first three ops, written before those fields
// existed, never covered them), then the packed row.
func journalCRC(b []byte, rowLen int) uint32 {
	c := crc32.Checksum(b[:36], castagnoli)
	if intentOp(b[4]).staged() {
		c = crc32.Update(c, castagnoli, b[40:journalHead])
	}
	return crc32.Update(c, castagnoli, b[journalHead:journalHead+rowLen])
}

// readJournal reads the JOURNAL at path for packed rows of rowSize bytes:
// no file, or one too short to hold a record (left by a crash while
// openJournal sized it), holds no intent; one longer than journalSize is
// never written by this library and is corrupt, refused before it is read.
func readJournal(path string, rowSize int) (intent, bool, error) {
	b, err := readTableFile(path, 0, int64(journalSize(rowSize)))
	if errors.Is(err, os.ErrNotExist) {
		return intent{}, false, nil
	}
	if err != nil {
		return intent{}, false, err
	}
	in, ok := readIntent(b, rowSize)
	return in, ok, nil
}

// readIntent decodes a journal's bytes; ok is false when there is no valid
// intent (empty, cleared, or torn before its checksum was written). The
// numbers of a valid intent are not checked here: only recovery knows the
// row count they must lie within (see redo).
func readIntent(b []byte, rowSize int) (intent, bool) {
	if len(b) < journalHead+rowSize || ne.Uint32(b[0:]) != journalMagic {
		return intent{}, false
	}
	op := intentOp(b[4])
	rowLen := rowSize
	if op.staged() {
		rowLen = 0 // a delete's rows are in the columns, not here
	}
	if uint64(ne.Uint32(b[32:])) != uint64(rowLen) || ne.Uint32(b[36:]) != journalCRC(b, rowLen) {
		return intent{}, false
	}
	in := intent{op: op, commitSeq: ne.Uint64(b[8:]), index: ne.Uint64(b[16:]),
		rowsBefore: ne.Uint64(b[24:]), row: append([]byte(nil), b[journalHead:journalHead+rowLen]...)}
	if op.staged() {
		in.kept, in.stagedCRC = ne.Uint64(b[40:]), ne.Uint32(b[48:])
	}
	if in.op < opSetRow || in.op > opDeleteFunc {
		return intent{}, false
	}
	return in, true
}
