package table

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"

	"github.com/mmapvec/persistence"

	"github.com/mmapvec/persistence/internal/twoslot"
)

// The COMMIT file holds two commit slots, written alternately: a torn write
// of one leaves the other. FORMAT.md specifies the layout.
const (
	commitFile  = "COMMIT"
	commitMagic = "PCOMMIT1"
	slotFixed   = 40 // magic, seq, rows, manifest hash, ncols, reserved
)

var (
	ne         = binary.NativeEndian
	castagnoli = crc32.MakeTable(crc32.Castagnoli)
)

// commitSlot is one commit record.
type commitSlot struct {
	seq     uint64
	rows    uint64
	hash    uint64   // manifest hash
	lengths []uint64 // each column's length (all equal to rows), then the extents (see commitEntries)
}

// slotBytes is the size of one slot for ncols columns: whole 512-byte
// sectors, so the two slots never share one.
func slotBytes(ncols int) int {
	n := slotFixed + 8*ncols + 4
	return (n + 511) &^ 511
}

func encodeCommit(idx int, s commitSlot) []byte { return encodeCommitInto(nil, idx, s) }

// encodeCommitInto encodes into buf, reusing it when it is large enough.
func encodeCommitInto(buf []byte, idx int, s commitSlot) []byte {
	size := slotBytes(len(s.lengths))
	if cap(buf) < size {
		buf = make([]byte, size)
	}
	b := buf[:size]
	clear(b)
	copy(b, commitMagic)
	ne.PutUint64(b[8:], s.seq)
	ne.PutUint64(b[16:], s.rows)
	ne.PutUint64(b[24:], s.hash)
	ne.PutUint32(b[32:], uint32(len(s.lengths)))
	p := slotFixed
	for _, l := range s.lengths {
		ne.PutUint64(b[p:], l)
		p += 8
	}
	ne.PutUint32(b[p:], twoslot.Sum(idx, b[:p]))
	return b
}

// decodeCommit parses slot idx of a COMMIT file for ncols columns; ok is
// false if it is torn or damaged.
func decodeCommit(idx int, b []byte, ncols int) (commitSlot, bool) {
	return decodeCommitOrder(ne, idx, b, ncols)
}

// decodeCommitOrder is decodeCommit for a file in byte order bo.
func decodeCommitOrder(bo binary.ByteOrder, idx int, b []byte, ncols int) (commitSlot, bool) {
	ne := bo
	size := slotBytes(ncols)
	if len(b) < size || string(b[:8]) != commitMagic || uint64(ne.Uint32(b[32:])) != uint64(ncols) {
		return commitSlot{}, false
	}
	p := slotFixed + 8*ncols
	if ne.Uint32(b[p:]) != twoslot.Sum(idx, b[:p]) {
		return commitSlot{}, false
	}
	for _, x := range b[p+4 : size] {
		if x != 0 {
			return commitSlot{}, false
		}
	}
	if ne.Uint32(b[36:]) != 0 {
		return commitSlot{}, false
	}
	s := commitSlot{seq: ne.Uint64(b[8:]), rows: ne.Uint64(b[16:]), hash: ne.Uint64(b[24:])}
	for i := range ncols {
		s.lengths = append(s.lengths, ne.Uint64(b[slotFixed+8*i:]))
	}
	return s, true
}

// commitEntries is the number of lengths a COMMIT slot of manifest m
// holds: one per column (each the row count), then one per
// variable-length column, in manifest order: its extent, the frontier of a
// string or bytes column's heap, or the entry count of a symbol column's
// dictionary.
func commitEntries(m *persistence.Manifest) int {
	n := len(m.Columns)
	for _, c := range m.Columns {
		if c.Variable() {
			n++
		}
	}
	return n
}

// commitLengths returns the lengths of a COMMIT slot of manifest m with
// rows rows, the variable-length columns' extents taken from extent (nil:
// all 0).
func commitLengths(m *persistence.Manifest, rows int, extent func(name string) uint64) []uint64 {
	lengths := make([]uint64, len(m.Columns), commitEntries(m))
	for i := range lengths {
		lengths[i] = uint64(rows)
	}
	for _, c := range m.Columns {
		if c.Variable() {
			var x uint64
			if extent != nil {
				x = extent(c.Name)
			}
			lengths = append(lengths, x)
		}
	}
	return lengths
}

// readCommit returns the valid slot with the highest sequence number, its
// index, and whether the other slot was damaged, of the COMMIT file at path
// for manifest m.
func readCommit(path string, m *persistence.Manifest, hash uint64) (commitSlot, int, bool, error) {
	return readCommitOrder(ne, path, m, hash)
}

// readCommitOrder is readCommit for a file in byte order bo.
func readCommitOrder(bo binary.ByteOrder, path string, m *persistence.Manifest, hash uint64) (commitSlot, int, bool, error) {
	// Exactly two slots: the size is checked before anything is read, so a
	// huge or sparse file costs nothing.
	ncols := commitEntries(m)
	size := slotBytes(ncols)
	b, err := readTableFile(path, int64(2*size), int64(2*size))
	if err != nil {
		return commitSlot{}, 0, false, err
	}
	s0, ok0 := decodeCommitOrder(bo, 0, b[:size], ncols)
	s1, ok1 := decodeCommitOrder(bo, 1, b[size:], ncols)
	idx, damaged, ok := twoslot.Newer(ok0, ok1, s0.seq, s1.seq)
	if !ok {
		return commitSlot{}, 0, false, fmt.Errorf("%w: %s: both commit slots fail their checks", ErrCorrupt, path)
	}
	s := [2]commitSlot{s0, s1}[idx]
	// A row count is an int everywhere past this point; no file, however
	// large, holds more rows than that (each is at least a byte).
	if s.rows > math.MaxInt {
		return commitSlot{}, 0, false, fmt.Errorf("%w: %s: committed row count %d cannot be a row index here", ErrCorrupt, path, s.rows)
	}
	if s.hash != hash {
		return commitSlot{}, 0, false, fmt.Errorf("%w: %s was written for another manifest (hash %016x, manifest %016x)", ErrCorrupt, path, s.hash, hash)
	}
	for i, l := range s.lengths[:len(m.Columns)] {
		if l != s.rows {
			return commitSlot{}, 0, false, fmt.Errorf("%w: %s: column %d committed with %d rows, the table with %d", ErrCorrupt, path, i, l, s.rows)
		}
	}
	return s, idx, damaged, nil
}
