// Package twoslot is the checksummed two-slot record that both a column
// file's header and a table's COMMIT file use: two copies written
// alternately, each with a sequence number and a CRC-32C that covers the
// slot's own index, so that a torn write of one leaves the other, and a
// slot copied to the other place does not pass.
package twoslot

import "hash/crc32"

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Sum is the CRC-32C of b followed by the slot index idx (0 or 1).
func Sum(idx int, b []byte) uint32 {
	return crc32.Update(crc32.Checksum(b, castagnoli), castagnoli, []byte{byte(idx)})
}

// Newer picks the slot to trust from the two slots' validity and sequence
// numbers: the valid one with the higher sequence. fallback reports that
// one slot was invalid; ok is false when neither is valid.
func Newer(ok0, ok1 bool, seq0, seq1 uint64) (idx int, fallback, ok bool) {
	switch {
	case !ok0 && !ok1:
		return 0, true, false
	case ok0 && (!ok1 || seq0 > seq1):
		return 0, !ok1, true
	default:
		return 1, !ok0, true
	}
}
