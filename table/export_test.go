package table

// Internals for the package's own tests and fuzz targets.

// Verify reports whether a commit slot was written by a one-flush Sync.
func (s CommitSlot) Verify() bool { return s.verify }

// CommitSlot is a decoded COMMIT slot.
type CommitSlot = commitSlot

var (
	DecodeCommit = decodeCommit
	EncodeCommit = func(idx int, seq, rows, hash uint64, lengths []uint64) []byte {
		return encodeCommit(idx, commitSlot{seq: seq, rows: rows, hash: hash, lengths: lengths})
	}
	ReadIntentOK = func(b []byte, rowSize int) bool { _, ok := readIntent(b, rowSize); return ok }
)
