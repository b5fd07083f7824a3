package table

import (
	"hash/crc32"

	"github.com/mmapvec/persistence/internal/twoslot"
)

// Internals for the package's own tests and fuzz targets.
var (
	DecodeCommit = decodeCommit
	EncodeCommit = func(idx int, seq, rows, hash uint64, lengths []uint64) []byte {
		return encodeCommit(idx, commitSlot{seq: seq, rows: rows, hash: hash, lengths: lengths})
	}
	ReadIntentOK = func(b []byte, rowSize int) bool { _, ok := readIntent(b, rowSize); return ok }
)

// Journal and commit records as the writers lay them out, for tests and
// fuzz targets that must reach the code behind the checksums.
var (
	JournalSize = journalSize
	// EncodeIntent is a whole JOURNAL file holding one valid intent.
	EncodeIntent = func(op uint8, seq, index, rowsBefore uint64, row []byte) []byte {
		j := &journal{buf: make([]byte, journalSize(len(row)))}
		j.write(intent{op: intentOp(op), commitSeq: seq, index: index, rowsBefore: rowsBefore, row: row})
		return j.buf
	}
	// FixJournalCRC recomputes the record's checksum in a JOURNAL file's
	// bytes as the writer does, if they are long enough to hold one.
	FixJournalCRC = func(b []byte, rowSize int) {
		if len(b) >= journalHead+rowSize {
			if intentOp(b[4]).staged() {
				rowSize = 0
			}
			ne.PutUint32(b[36:], journalCRC(b, rowSize))
		}
	}
	// EncodeDeleteIntent is a whole JOURNAL file holding one valid intent
	// of a stable delete (op 4 Delete, 5 DeleteFunc) for packed rows of
	// rowSize bytes.
	EncodeDeleteIntent = func(op uint8, seq, first, rowsBefore, kept uint64, stagedCRC uint32, rowSize int) []byte {
		j := &journal{buf: make([]byte, journalSize(rowSize))}
		j.write(intent{op: intentOp(op), commitSeq: seq, index: first, rowsBefore: rowsBefore, kept: kept, stagedCRC: stagedCRC})
		return j.buf
	}
	// FixCommitCRCs recomputes each slot's checksum in a COMMIT file's
	// bytes for ncols columns as the writer does, where the slot fits.
	FixCommitCRCs = func(b []byte, ncols int) {
		size := slotBytes(ncols)
		p := slotFixed + 8*ncols
		for idx := range 2 {
			if len(b) >= (idx+1)*size {
				s := b[idx*size:]
				ne.PutUint32(s[p:], twoslot.Sum(idx, s[:p]))
			}
		}
	}
	SlotBytes = slotBytes
)

// ColumnState is what a test sees of one column of an open table.
type ColumnState struct {
	Name              string
	Len, FileLen, Cap int // the view's length, the file's, its capacity
	Closed            bool
	ElemBytes         func(i int) []byte
}

// Columns returns the state of t's columns, in schema order.
func Columns[R any](t *Table[R]) []ColumnState {
	var out []ColumnState
	for _, c := range t.set.Columns() {
		out = append(out, ColumnState{Name: c.Name(), Len: c.Len(), FileLen: c.File().Len(), Cap: c.File().Cap(),
			Closed: c.Closed(), ElemBytes: c.ElemBytes})
	}
	return out
}

// BreakLog closes the table's write-ahead log under it, so that the next
// logged Sync fails as a failed write or fdatasync would.
func BreakLog[R any](t *Table[R]) { _ = t.wal.Close() }

// The write-ahead log's records as a logged Sync lays them out, for fuzz
// targets that must reach the code behind the checksum.
var (
	WALRecordsAt = walRecordsAt
	// EncodeWALRecord is the record of a logged Sync: sequence number
	// seq, manifest hash, the table's rows and every file's length after
	// it (in the log's file order), the user's meta and the runs of
	// elements written.
	EncodeWALRecord = func(seq, hash, rows uint64, lens []uint64, meta []byte, writes []WALWrite) []byte {
		var e walEncoder
		e.begin(seq, hash, rows, lens, meta)
		for _, w := range writes {
			e.add(w.File, w.At, w.Count, w.Data)
		}
		return e.end()
	}
	// FixWALRecordCRCs recomputes, as the writer does, the checksum of
	// each record of the chain at the start of b (a log's record area)
	// whose size field fits in b.
	FixWALRecordCRCs = func(b []byte) {
		for p := 0; p+walHeader+walTrailer <= len(b); {
			size := ne.Uint64(b[p+8:])
			if size < walHeader+walTrailer || size%8 != 0 || size > uint64(len(b)-p) {
				return
			}
			end := p + int(size) - walTrailer
			ne.PutUint32(b[end:], crc32.Checksum(b[p:end], castagnoli))
			p += int(size)
		}
	}
)

// WALWrite is a run of elements of one file in a log record.
type WALWrite struct {
	File      int
	At, Count uint64
	Data      []byte
}
