package table

// Internals for the package's own tests and fuzz targets.
var (
	DecodeCommit = decodeCommit
	EncodeCommit = func(idx int, seq, rows, hash uint64, lengths []uint64) []byte {
		return encodeCommit(idx, commitSlot{seq: seq, rows: rows, hash: hash, lengths: lengths})
	}
	ReadIntentOK = func(b []byte, rowSize int) bool { _, ok := readIntent(b, rowSize); return ok }
)
