package table

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"math"
)

// The write-ahead log, WAL: a small Sync writes one record here and
// fdatasyncs this one file, instead of every column file and COMMIT. A
// checkpoint (a large Sync, a full log, Close, and every change that
// rewrites files) flushes the columns and writes COMMIT as before, after
// which the records are spent. FORMAT.md, "WAL", has the layout and the
// routes weighed.
const (
	// DefaultLogSize is the bytes of records a write-ahead log holds when
	// [Options.LogSize] is 0; MinLogSize and MaxLogSize bound the option.
	DefaultLogSize = 8 << 20
	MinLogSize     = 64 << 10
	MaxLogSize     = maxWALSize - walRecordsAt
)

const (
	walFile = "WAL"
	walTemp = "WAL.new" // the log being made (createWAL)

	walSlotBytes   = 32 << 10         // one meta slot
	walRecordsAt   = 2 * walSlotBytes // the first record
	walSlotMagic   = "PWALMET1"       // a meta slot
	walRecordMagic = 0x31524c57       // "WLR1" read natively
	walHeader      = 48               // fixed part of a record
	walTrailer     = 8                // CRC-32C, then 4 zero bytes
	walWriteHeader = 24               // file, zero, at, count
	walSlotFixed   = 40               // magic, seq, hash, meta length, zero
	MaxSyncMeta    = walSlotBytes - walSlotFixed - 8
)

// walRecord is one Sync logged: the table's state after it (every file's
// length in elements, in walFiles order, and the user's meta) and the
// elements written since the previous one.
type walRecord struct {
	seq    uint64
	hash   uint64
	rows   uint64
	lens   []uint64
	meta   []byte
	writes []walWrite
	size   int // bytes the record takes in the log
}

// walWrite is a run of elements of one file: count elements from index at.
type walWrite struct {
	file  int
	at    uint64
	count uint64
	data  []byte
}

func pad8(n int) int { return (n + 7) &^ 7 }

// walEncoder builds a record in place in buf: header, lengths and meta
// first (begin), then each write (add), then the CRC (end).
type walEncoder struct {
	buf []byte
}

func (e *walEncoder) begin(seq, hash, rows uint64, lens []uint64, meta []byte) {
	b := e.buf[:0]
	b = ne.AppendUint32(b, walRecordMagic)
	b = ne.AppendUint32(b, 0)
	b = ne.AppendUint64(b, 0) // the size, set by end
	b = ne.AppendUint64(b, seq)
	b = ne.AppendUint64(b, hash)
	b = ne.AppendUint64(b, rows)
	b = ne.AppendUint32(b, uint32(len(lens)))
	b = ne.AppendUint32(b, uint32(len(meta)))
	for _, l := range lens {
		b = ne.AppendUint64(b, l)
	}
	b = append(b, meta...)
	b = appendZeros(b, pad8(len(meta))-len(meta))
	e.buf = b
}

// add appends a write of count elements at index at of file; data is
// their bytes (count times the file's element size).
func (e *walEncoder) add(file int, at, count uint64, data ...[]byte) {
	b := e.buf
	b = ne.AppendUint32(b, uint32(file))
	b = ne.AppendUint32(b, 0)
	b = ne.AppendUint64(b, at)
	b = ne.AppendUint64(b, count)
	n := 0
	for _, d := range data {
		b = append(b, d...)
		n += len(d)
	}
	e.buf = appendZeros(b, pad8(n)-n)
}

// end sets the size and appends the CRC; it returns the record.
func (e *walEncoder) end() []byte {
	size := len(e.buf) + walTrailer
	ne.PutUint64(e.buf[8:], uint64(size))
	e.buf = ne.AppendUint32(e.buf, crc32.Checksum(e.buf, castagnoli))
	e.buf = ne.AppendUint32(e.buf, 0)
	return e.buf
}

func appendZeros(b []byte, n int) []byte {
	for range n {
		b = append(b, 0)
	}
	return b
}

// decodeWALRecord parses the record at the start of b for a table whose
// files have the element sizes elem (walFiles order). ok is false for
// anything that is not a whole, intact record of such a table: the end of
// the log, a torn write, or damage. Every number is checked here before it
// is used as a size; the record's meaning (which rows, how far a file may
// grow) is checked by its reader against the state it applies to.
func decodeWALRecord(bo binary.ByteOrder, b []byte, elem []int) (walRecord, bool) {
	if len(b) < walHeader+walTrailer || bo.Uint32(b) != walRecordMagic || bo.Uint32(b[4:]) != 0 {
		return walRecord{}, false
	}
	size := bo.Uint64(b[8:])
	if size < walHeader+walTrailer || size > uint64(len(b)) || size%8 != 0 {
		return walRecord{}, false
	}
	body := b[:size-walTrailer]
	if bo.Uint32(b[size-walTrailer:]) != crc32.Checksum(body, castagnoli) || bo.Uint32(b[size-4:]) != 0 {
		return walRecord{}, false
	}
	r := walRecord{seq: bo.Uint64(b[16:]), hash: bo.Uint64(b[24:]), rows: bo.Uint64(b[32:]), size: int(size)}
	nfiles, meta := int(bo.Uint32(b[40:])), uint64(bo.Uint32(b[44:]))
	if nfiles != len(elem) || meta > MaxSyncMeta {
		return walRecord{}, false
	}
	p := uint64(walHeader)
	if p+8*uint64(nfiles)+uint64(pad8(int(meta))) > uint64(len(body)) {
		return walRecord{}, false
	}
	r.lens = make([]uint64, nfiles)
	for i := range r.lens {
		r.lens[i] = bo.Uint64(body[p:])
		p += 8
	}
	r.meta = body[p : p+meta]
	p += uint64(pad8(int(meta)))
	for p < uint64(len(body)) {
		if uint64(len(body))-p < walWriteHeader {
			return walRecord{}, false
		}
		w := walWrite{file: int(bo.Uint32(body[p:])), at: bo.Uint64(body[p+8:]), count: bo.Uint64(body[p+16:])}
		if uint64(w.file) >= uint64(nfiles) || bo.Uint32(body[p+4:]) != 0 || w.count == 0 {
			return walRecord{}, false
		}
		p += walWriteHeader
		es := uint64(elem[w.file])
		if w.count > (uint64(len(body))-p)/es {
			return walRecord{}, false
		}
		n := w.count * es
		if w.at > math.MaxInt64/es-w.count {
			return walRecord{}, false
		}
		w.data = body[p : p+n]
		p += uint64(pad8(int(n)))
		if p > uint64(len(body)) {
			return walRecord{}, false
		}
		r.writes = append(r.writes, w)
	}
	return r, true
}

// walSlot is one of the two meta slots at the start of the log: the meta
// of the checkpoint with sequence number seq, for the manifest hash.
type walSlot struct {
	seq  uint64
	hash uint64
	meta []byte
}

func encodeWALSlot(idx int, s walSlot) []byte {
	b := make([]byte, walSlotFixed+pad8(len(s.meta))+8)
	copy(b, walSlotMagic)
	ne.PutUint64(b[8:], s.seq)
	ne.PutUint64(b[16:], s.hash)
	ne.PutUint32(b[24:], uint32(len(s.meta)))
	copy(b[walSlotFixed:], s.meta)
	p := len(b) - 8
	ne.PutUint32(b[p:], crc32.Update(crc32.Checksum(b[:p], castagnoli), castagnoli, []byte{byte(idx)}))
	return b
}

// decodeWALSlot parses slot idx; ok is false if it is empty, torn or damaged.
func decodeWALSlot(bo binary.ByteOrder, idx int, b []byte) (walSlot, bool) {
	if len(b) < walSlotFixed+8 || string(b[:8]) != walSlotMagic {
		return walSlot{}, false
	}
	n := uint64(bo.Uint32(b[24:]))
	if n > MaxSyncMeta || bo.Uint32(b[28:]) != 0 || bo.Uint64(b[32:]) != 0 {
		return walSlot{}, false
	}
	p := walSlotFixed + pad8(int(n))
	if p+8 > len(b) || bo.Uint32(b[p:]) != crc32.Update(crc32.Checksum(b[:p], castagnoli), castagnoli, []byte{byte(idx)}) || bo.Uint32(b[p+4:]) != 0 {
		return walSlot{}, false
	}
	return walSlot{seq: bo.Uint64(b[8:]), hash: bo.Uint64(b[16:]), meta: b[walSlotFixed : walSlotFixed+n]}, true
}

// walChain is what a log holds past a commit: the records that follow it,
// in order, and the meta of the last Sync up to them.
type walChain struct {
	records []walRecord
	end     int    // offset just past the last record (walRecordsAt if none)
	meta    []byte // the meta of the last Sync covered (commit or records)
	slotIdx int    // the meta slot holding the commit's meta: the next checkpoint writes the other
}

// scanWAL reads the log f (size bytes, in byte order bo) for the commit
// (seq, hash): the records numbered seq+1, seq+2, ... from the first record
// on, each intact and of the same manifest; it stops at the first that is
// not. Records are read one at a time, so an open reads what the chain
// holds, not the whole log.
func scanWAL(bo binary.ByteOrder, f io.ReaderAt, size int64, seq, hash uint64, elem []int) (walChain, error) {
	c := walChain{end: walRecordsAt, slotIdx: 1}
	// A log cut short (damage) is read as if zeros followed: a slot whose
	// bytes it holds still counts, and a checkpoint's slot written into
	// it (which extends the file just past the meta) is found again.
	slots := make([]byte, walRecordsAt)
	if _, err := f.ReadAt(slots[:min(size, walRecordsAt)], 0); err != nil && err != io.EOF {
		return c, err
	}
	// The meta of the commit itself: the slot a checkpoint wrote with it.
	var best uint64
	for idx := range 2 {
		s, ok := decodeWALSlot(bo, idx, slots[idx*walSlotBytes:(idx+1)*walSlotBytes])
		if !ok {
			continue
		}
		// The newest meta at or before the commit, of any manifest: a
		// schema change commits seq+1 under a new hash and keeps the meta.
		// A slot past the commit is a checkpoint that died before its
		// COMMIT: never the meta, and the slot the next checkpoint takes,
		// so that it cannot overwrite the committed one.
		if s.seq <= seq && (c.meta == nil || s.seq >= best) {
			c.meta, best, c.slotIdx = bytes.Clone(s.meta), s.seq, idx
		}
	}
	end, err := walkRecords(bo, f, size, walRecordsAt, seq+1, hash, elem, func(r walRecord) {
		c.records = append(c.records, r)
		c.meta = r.meta
	})
	c.end = int(end)
	return c, err
}

// walkRecords reads the records of the chain from offset p on, where
// record next is due, each intact and of the manifest hash, passes each to
// add, and returns the offset past the last: the chain's end, where a
// later walk resumes once the writer logged more.
func walkRecords(bo binary.ByteOrder, f io.ReaderAt, size, p int64, next, hash uint64, elem []int, add func(walRecord)) (int64, error) {
	head := make([]byte, walHeader)
	for ; p+walHeader+walTrailer <= size; next++ {
		if _, err := f.ReadAt(head, p); err != nil {
			return p, err
		}
		n := bo.Uint64(head[8:])
		if bo.Uint32(head) != walRecordMagic || bo.Uint64(head[16:]) != next ||
			n < walHeader+walTrailer || n > uint64(size-p) {
			break
		}
		b := make([]byte, n)
		if _, err := f.ReadAt(b, p); err != nil {
			return p, err
		}
		r, ok := decodeWALRecord(bo, b, elem)
		if !ok || r.hash != hash {
			break
		}
		add(r)
		p += int64(r.size)
	}
	return p, nil
}

// last returns the sequence number and row count the chain ends with, given
// the commit's.
func (c *walChain) last(seq, rows uint64) (uint64, uint64) {
	if n := len(c.records); n > 0 {
		return c.records[n-1].seq, c.records[n-1].rows
	}
	return seq, rows
}

func (c *walChain) String() string {
	return fmt.Sprintf("%d records to %d bytes", len(c.records), c.end)
}
