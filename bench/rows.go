package bench

import (
	"os"
	"unsafe"
)

// Row is the 32-byte, four-field record every append and scan workload uses.
type Row struct {
	ID    int64
	TS    int64
	Value float64
	Count uint64
}

// RowSize is the bytes of one Row in every store that keeps it raw.
const RowSize = int(unsafe.Sizeof(Row{}))

// Wide is the eight-column row of the commit latency workload: the cost of a
// commit should grow with the files touched, so it uses more than Row has.
type Wide struct {
	A, B, C, D, E, F, G, H int64
}

// MakeRow derives row i, so that every store can be checked against the same sums.
func MakeRow(i int) Row {
	return Row{ID: int64(i), TS: 1_700_000_000_000 + int64(i)*1000, Value: float64(i%1000) * 0.25, Count: uint64(i % 97)}
}

// MakeRows returns rows [from, from+n).
func MakeRows(from, n int) []Row {
	rs := make([]Row, n)
	for i := range rs {
		rs[i] = MakeRow(from + i)
	}
	return rs
}

// RowBytes views rows as their raw bytes, the payload a plain write() stores.
func RowBytes(rs []Row) []byte {
	if len(rs) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&rs[0])), len(rs)*RowSize)
}

// Dir is where benchmark files go: PERSIST_BENCH_DIR, else the system temp dir.
// It must be a real disk; commit and open figures on tmpfs mean nothing.
func Dir() string {
	if d := os.Getenv("PERSIST_BENCH_DIR"); d != "" {
		return d
	}
	return os.TempDir()
}

// TempDir makes a fresh directory under Dir for one workload.
func TempDir(name string) (string, error) {
	return os.MkdirTemp(Dir(), "persist-bench-"+name+"-")
}
