package bench

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/mmapvec/persistence/mmap"
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

// sink keeps results of timed work alive, so the compiler cannot drop the work.
var sink any

// release drops sink and collects it, untimed. The Go runtime keeps the
// freed heap, so heap contenders grow into memory already faulted in, as in
// a long-running process: the comparison errs in the peers' favour.
// (debug.FreeOSMemory would make every heap contender pay page faults again,
// which on a virtual machine can cost several times the copying.)
func release() error {
	sink = nil
	runtime.GC()
	return nil
}

// freshDir empties path for the next Run, untimed.
func freshDir(path string) error {
	if err := os.RemoveAll(path); err != nil {
		return err
	}
	return os.MkdirAll(path, 0o755)
}

// primeMemory writes b to a new file at path and removes it, untimed, just
// before a timed run: the run then gets memory the kernel freed a moment
// ago. On a virtual machine with free page reporting, memory free for longer
// has been handed back to the host, and its first use costs a host fault per
// page, which made write() into a new file run at a tenth of its speed in
// some runs and not in others.
func primeMemory(path string, b []byte) error {
	if err := WriteChunks(path, b); err != nil {
		return err
	}
	return os.Remove(path)
}

// BulkAppendWorkload appends BulkRows rows at once to an empty store, growth included.
func BulkAppendWorkload(c Config) *Workload {
	n := c.BulkRows
	var dir string
	var rows []Row
	var tab *Table
	var vec *mmap.Vec[Row]
	bytes := float64(n * RowSize)
	tabDir := func() string { return filepath.Join(dir, "table") }
	file := func(name string) string { return filepath.Join(dir, name) }
	removing := func(name string) func() error {
		return func() error { release(); return os.Remove(file(name)) }
	}
	prime := func() error { return primeMemory(file("prime"), RowBytes(rows)) }
	return &Workload{
		Name: "Bulk append", Size: "rows=" + sizeName(n), Unit: PerByte, Lib: "table AppendRows",
		Notes: []string{"32-byte rows of 4 fields; every store starts empty, so growth is included. write() does not sync, nor does the table: both stop at the page cache.",
			"Before every run, untimed, a file of the same size is written and removed: on a virtual machine that hands free memory back to its host (free page reporting), the first use of such memory costs a host fault per page, and write() into a new file ran at either about 0.3 or about 3 GB/s depending on whether it got such pages. Memory freed just before is the guest's again, for every contender alike."},
		Setup: func() (err error) {
			rows = MakeRows(0, n)
			dir, err = TempDir("append")
			return err
		},
		Teardown: func() error { rows = nil; return os.RemoveAll(dir) },
		Cases: []*Case{
			{Name: "table AppendRows", Units: bytes,
				Before: func() (err error) {
					if err := freshDir(tabDir()); err != nil {
						return err
					}
					if tab, err = OpenTable(tabDir()); err != nil {
						return err
					}
					return prime()
				},
				Run: func() error { return tab.AppendRows(rows) },
				After: func() error {
					if tab.Len() != n {
						return fmt.Errorf("table holds %d rows, want %d", tab.Len(), n)
					}
					return errors.Join(closer(&tab)(), os.RemoveAll(tabDir()))
				}},
			{Name: "mmap.Vec[Row] Append", Units: bytes, Self: true,
				Before: func() (err error) {
					if vec, err = mmap.Open[Row](file("vec"), nil); err != nil {
						return err
					}
					return prime()
				},
				Run:   func() error { return vec.Append(rows...) },
				After: func() error { return errors.Join(closer(&vec)(), os.Remove(file("vec"))) }},
			{Name: "heap append", Units: bytes, Before: prime,
				Run: func() error {
					var cols Columns
					cols.AppendRows(rows)
					sink = &cols
					return nil
				},
				After: release},
			{Name: "write() 1MiB chunks", Units: bytes, Before: prime,
				Run:   func() error { return WriteChunks(file("raw"), RowBytes(rows)) },
				After: removing("raw")},
			{Name: "Arrow RecordBuilder", Units: bytes, Before: prime,
				Run: func() error { sink = ArrowBuild(rows); return nil },
				After: func() error {
					sink.(interface{ Release() }).Release()
					return release()
				}},
			{Name: "parquet-go GenericWriter", Units: bytes, Before: prime,
				Run:   func() error { return WriteParquet(file("rows.parquet"), rows) },
				After: removing("rows.parquet")},
		},
		Goals: []Goal{
			FasterThan("bulk append ≥ 2x faster than heap append", "heap append", 2),
			FasterThan("bulk append ≥ 0.6x write() bytes/s", "write() 1MiB chunks", 0.6),
		},
	}
}
