//go:build unix

package colfile

import (
	"encoding/binary"
	"hash/crc32"

	"github.com/mmapvec/persistence/internal/bootid"
	"github.com/mmapvec/persistence/internal/errs"
	"github.com/mmapvec/persistence/internal/twoslot"
)

// The header occupies page 0 of a column file; FORMAT.md at the repository
// root is its specification. All integers are in the writer's native byte
// order, which the endianness marker records.
const (
	headerSize = 4096 // elements start here: page- and SIMD-aligned

	offMagic       = 0
	offTag         = 8
	offMarker      = 16
	offVersion     = 20
	offFlags       = 22
	offDataVersion = 24
	offElemSize    = 28
	offElemAlign   = 32
	offFingerprint = 40
	offBootID      = 48
	offHeaderCRC   = 64 // CRC-32C of bytes [0, 48): the boot id is not covered
	crcEnd         = offBootID
	offLive        = 128
	offSlot0       = 192
	offSlot1       = 224
	slotSize       = 20 // seq u64, length u64, CRC-32C u32

	formatVersion = 1
	marker        = 0x01020304
	markerSwapped = 0x04030201

	// The live length word holds the length in its low 48 bits and a 16-bit
	// check in the high bits, so one aligned 8-byte store (atomic for a
	// process crash) publishes it and any single flipped byte is detected.
	lenBits = 48
	maxLen  = 1<<lenBits - 1
)

// magic opens every column file.
var magic = [8]byte{'P', 'E', 'R', 'S', 'I', 'S', 'T', 'V'}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// zeroRanges are the reserved byte ranges of the header; a non-zero byte in
// them is corruption.
var zeroRanges = [][2]int{{36, 40}, {68, offLive}, {offLive + 8, offSlot0}, {offSlot0 + slotSize, offSlot1}, {offSlot1 + slotSize, headerSize}}

var ne = binary.NativeEndian

// header is the decoded fixed part of page 0.
type header struct {
	tag         [8]byte
	dataVersion uint32
	elemSize    uint32
	elemAlign   uint32
	fingerprint uint64
	bootID      bootid.ID
}

// encodeFixed writes the fixed fields and their CRC into page (len >= 68).
// The boot id is outside the CRC: it is rewritten alone by each new boot's
// first writer, and a damaged one only makes the file look written in
// another boot, which trusts the committed length: the safe side.
func (h *header) encodeFixed(page []byte) {
	copy(page[offMagic:], magic[:])
	copy(page[offTag:], h.tag[:])
	ne.PutUint32(page[offMarker:], marker)
	ne.PutUint16(page[offVersion:], formatVersion)
	ne.PutUint16(page[offFlags:], 0)
	ne.PutUint32(page[offDataVersion:], h.dataVersion)
	ne.PutUint32(page[offElemSize:], h.elemSize)
	ne.PutUint32(page[offElemAlign:], h.elemAlign)
	clear(page[36:40])
	ne.PutUint64(page[offFingerprint:], h.fingerprint)
	copy(page[offBootID:], h.bootID[:])
	ne.PutUint32(page[offHeaderCRC:], crc32.Checksum(page[:crcEnd], castagnoli))
}

// decodeHeader checks page 0 in the order that gives the most useful error:
// magic, byte order, version, checksum, reserved bytes.
func decodeHeader(path string, page []byte) (header, error) {
	return decodeHeaderOrder(path, page, ne)
}

// decodeHeaderOrder is decodeHeader for a file in byte order bo.
func decodeHeaderOrder(path string, page []byte, bo binary.ByteOrder) (header, error) {
	ne := bo
	var h header
	if [8]byte(page[offMagic:offMagic+8]) != magic {
		return h, errs.File(path, errs.ErrBadMagic, "first bytes are %q", page[:8])
	}
	switch m := ne.Uint32(page[offMarker:]); m {
	case marker:
	case markerSwapped:
		return h, errs.File(path, errs.ErrByteOrder,
			"written on a %s machine, this one is %s; convert the data on a machine of the writer's byte order (see the persist CLI's convert)",
			otherOrder(), nativeOrder())
	default:
		return h, errs.File(path, errs.ErrEndianMarker, "marker is %#08x, want %#08x", m, uint32(marker))
	}
	if v := ne.Uint16(page[offVersion:]); v != formatVersion {
		return h, errs.File(path, errs.ErrFormatVersion, "file has format version %d, this library reads %d", v, formatVersion)
	}
	if got, want := ne.Uint32(page[offHeaderCRC:]), crc32.Checksum(page[:crcEnd], castagnoli); got != want {
		return h, errs.File(path, errs.ErrChecksum, "header CRC-32C is %#08x, computed %#08x", got, want)
	}
	if f := ne.Uint16(page[offFlags:]); f != 0 {
		return h, errs.File(path, errs.ErrCorrupt, "unknown header flags %#04x", f)
	}
	for _, r := range zeroRanges {
		for i := r[0]; i < r[1]; i++ {
			if page[i] != 0 {
				return h, errs.File(path, errs.ErrCorrupt, "reserved header byte %d is %#02x, want 0", i, page[i])
			}
		}
	}
	copy(h.tag[:], page[offTag:])
	h.dataVersion = ne.Uint32(page[offDataVersion:])
	h.elemSize = ne.Uint32(page[offElemSize:])
	h.elemAlign = ne.Uint32(page[offElemAlign:])
	h.fingerprint = ne.Uint64(page[offFingerprint:])
	copy(h.bootID[:], page[offBootID:])
	if h.elemSize == 0 || h.elemAlign == 0 || h.elemAlign&(h.elemAlign-1) != 0 || h.elemAlign > headerSize {
		return h, errs.File(path, errs.ErrCorrupt, "element size %d / alignment %d is impossible", h.elemSize, h.elemAlign)
	}
	return h, nil
}

// liveWord packs a length with its check bits.
func liveWord(n int) uint64 {
	u := uint64(n)
	return u | uint64(fold16(u))<<lenBits
}

// fold16 XORs the three 16-bit pieces of a 48-bit length: a flipped byte
// anywhere in the word changes either the length or the check, never both
// consistently.
func fold16(u uint64) uint16 {
	return uint16(u) ^ uint16(u>>16) ^ uint16(u>>32) ^ 0xA55A
}

// parseLiveWord returns the length of a live word, or false if its check
// bits do not match.
func parseLiveWord(w uint64) (int, bool) {
	n := w & maxLen
	return int(n), uint16(w>>lenBits) == fold16(n)
}

// slot is one of the two commit slots of a standalone Vec.
type slot struct {
	seq    uint64
	length uint64
}

func encodeSlot(idx int, s slot) []byte {
	b := make([]byte, slotSize)
	ne.PutUint64(b[0:], s.seq)
	ne.PutUint64(b[8:], s.length)
	ne.PutUint32(b[16:], twoslot.Sum(idx, b[:16]))
	return b
}

func decodeSlot(idx int, b []byte) (slot, bool) {
	if ne.Uint32(b[16:]) != twoslot.Sum(idx, b[:16]) {
		return slot{}, false
	}
	return slot{seq: ne.Uint64(b[0:]), length: ne.Uint64(b[8:])}, true
}

func slotOffset(idx int) int {
	if idx == 0 {
		return offSlot0
	}
	return offSlot1
}

// newHeaderPage returns a fresh page 0 for an empty file: slot 0 holds
// {seq 1, length 0} and slot 1 {seq 0, length 0}, so both are always valid
// in a healthy file and a torn write can only ever damage one.
func newHeaderPage(h header) []byte {
	page := make([]byte, headerSize)
	h.encodeFixed(page)
	ne.PutUint64(page[offLive:], liveWord(0))
	copy(page[offSlot0:], encodeSlot(0, slot{seq: 1}))
	copy(page[offSlot1:], encodeSlot(1, slot{seq: 0}))
	return page
}

func nativeOrder() string {
	if ne.Uint16([]byte{1, 0}) == 1 {
		return "little-endian"
	}
	return "big-endian"
}

func otherOrder() string {
	if nativeOrder() == "little-endian" {
		return "big-endian"
	}
	return "little-endian"
}
