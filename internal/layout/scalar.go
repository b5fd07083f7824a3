package layout

import "encoding/binary"

// Scalar values of integer leaves, read and written in the machine's byte
// order by their size (1, 2, 4 or 8 bytes), for the code that converts or
// prints elements by their layout.

var ne = binary.NativeEndian

// Int reads a signed integer leaf of len(b) bytes.
func Int(b []byte) int64 {
	switch len(b) {
	case 1:
		return int64(int8(b[0]))
	case 2:
		return int64(int16(ne.Uint16(b)))
	case 4:
		return int64(int32(ne.Uint32(b)))
	}
	return int64(ne.Uint64(b))
}

// Uint reads an unsigned integer leaf of len(b) bytes.
func Uint(b []byte) uint64 {
	switch len(b) {
	case 1:
		return uint64(b[0])
	case 2:
		return uint64(ne.Uint16(b))
	case 4:
		return uint64(ne.Uint32(b))
	}
	return ne.Uint64(b)
}

// PutUint writes v, cut to len(b) bytes, as an integer leaf (of either
// sign: the bits are the same).
func PutUint(b []byte, v uint64) {
	switch len(b) {
	case 1:
		b[0] = byte(v)
	case 2:
		ne.PutUint16(b, uint16(v))
	case 4:
		ne.PutUint32(b, uint32(v))
	default:
		ne.PutUint64(b, v)
	}
}
