package bench

import (
	"os"
)

// Columns is the heap baseline for appends: one growing slice per field, the
// layout a columnar store keeps.
type Columns struct {
	ID    []int64
	TS    []int64
	Value []float64
	Count []uint64
}

// AppendRows appends rows field by field, growth included.
func (c *Columns) AppendRows(rs []Row) {
	for _, r := range rs {
		c.Append(r)
	}
}

// Append is the per-row heap append the single-row workload compares against.
func (c *Columns) Append(r Row) {
	c.ID = append(c.ID, r.ID)
	c.TS = append(c.TS, r.TS)
	c.Value = append(c.Value, r.Value)
	c.Count = append(c.Count, r.Count)
}

func (c *Columns) Len() int { return len(c.ID) }

// WriteChunkSize is the write() size of the page-cache baseline: large enough
// that syscall cost is negligible, so it measures copying into the page cache.
const WriteChunkSize = 1 << 20

// WriteChunks writes b to a new file at path in WriteChunkSize pieces,
// without syncing: the most a file-backed store could hope to reach.
func WriteChunks(path string, b []byte) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	for off := 0; off < len(b); off += WriteChunkSize {
		if _, err := f.Write(b[off:min(off+WriteChunkSize, len(b))]); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}
