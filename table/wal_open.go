package table

import (
	"cmp"
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"unsafe"

	"github.com/mmapvec/persistence"
	"github.com/mmapvec/persistence/internal/colfile"
	"github.com/mmapvec/persistence/internal/crashpoint"
)

// maxWALSize bounds the log an open reads (and so what it allocates for a
// record): a larger file is not one this library wrote.
const maxWALSize = 64 << 20

// walTargets lists every file of the table in manifest order (each
// column's element file, then its aux files), as the log's records number
// them; a file this handle does not map is nil (a reader of some columns).
func (t *core) walTargets() []*colfile.File {
	var files []*colfile.File
	for _, c := range t.man.Columns {
		var fs []*colfile.File
		if col := t.colByName(c.Name); col != nil {
			fs = append(fs, col.File())
			if v := t.varByName(c.Name); v != nil {
				fs = append(fs, v.files()...)
			}
		}
		for i := range 1 + len(auxLayouts(c.Kind)) {
			var f *colfile.File
			if i < len(fs) {
				f = fs[i]
			}
			files = append(files, f)
		}
	}
	return files
}

// walElemSizes returns the element sizes of the files of manifest m in the
// log's order, and which of them hold rows (the others are heaps and
// dictionaries).
func walElemSizes(m *persistence.Manifest) (sizes []int, rowFiles []bool) {
	for _, c := range m.Columns {
		sizes = append(sizes, c.Layout.Size)
		rowFiles = append(rowFiles, true)
		for _, l := range auxLayouts(c.Kind) {
			sizes = append(sizes, l.Size)
			rowFiles = append(rowFiles, false)
		}
	}
	return sizes, rowFiles
}

// chainCommit returns the commit that the chain's last record makes of
// manifest m: its rows, and the extents of the variable-length columns.
func chainCommit(m *persistence.Manifest, last walRecord, hash uint64) commitSlot {
	out := commitSlot{seq: last.seq, rows: last.rows, hash: hash, lengths: make([]uint64, len(m.Columns), commitEntries(m))}
	for i := range m.Columns {
		out.lengths[i] = last.rows
	}
	fi := 0
	for _, col := range m.Columns {
		if col.Variable() {
			out.lengths = append(out.lengths, last.lens[fi+1]) // the heap's frontier, the dictionary's count
		}
		fi += 1 + len(auxLayouts(col.Kind))
	}
	return out
}

// readWAL returns the records that follow the commit slot in the log, and
// the meta of the last Sync. A table without a log (none was ever needed)
// has an empty chain. A writer keeps the log open.
func (t *core) readWAL(slot commitSlot) (walChain, error) {
	t.walFiles = t.walTargets()
	t.walElem, t.walElemFile = walElemSizes(t.man)
	t.viewedFile = make([]bool, len(t.walFiles))
	t.checkpointNext = true // see checkpoint: what this open inherits is made durable whole
	t.viewedFiles = nil
	if t.wal != nil {
		_ = t.wal.Close() // files mapped again (Compact): the log too
		t.wal = nil
	}
	flag := os.O_RDWR
	if t.opts.ReadOnly {
		flag = os.O_RDONLY
	}
	c, f, size, err := openChain(ne, t.dir, flag, t.man, slot.seq, t.hash)
	if err != nil {
		return c, prefixed(err)
	}
	if f == nil || t.opts.ReadOnly {
		if f != nil {
			err = f.Close()
		}
		return c, err
	}
	t.wal, t.walSize = f, int(size)
	return c, nil
}

// openChain opens the log of the table in dir with flag and reads, in byte
// order bo, the chain that follows the commit (seq, hash) of manifest m. A
// table without a log (none was ever needed) has an empty chain and no
// file; otherwise the caller closes f. It serves an open, Check and Convert.
func openChain(bo binary.ByteOrder, dir string, flag int, m *persistence.Manifest, seq, hash uint64) (c walChain, f *os.File, size int64, err error) {
	f, fi, err := openLog(dir, flag)
	if err != nil || f == nil {
		return walChain{end: walRecordsAt, slotIdx: 1}, nil, 0, err
	}
	sizes, _ := walElemSizes(m)
	if c, err = scanWAL(bo, f, fi.Size(), seq, hash, sizes); err != nil {
		return c, nil, 0, errors.Join(err, f.Close())
	}
	return c, f, fi.Size(), nil
}

// openLog opens the log of the table in dir with flag, and checks its
// size; a table without a log has no file (nil, no error).
func openLog(dir string, flag int) (*os.File, os.FileInfo, error) {
	path := filepath.Join(dir, walFile)
	f, err := openTableFile(path, flag)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err == nil && fi.Size() > maxWALSize {
		err = fmt.Errorf("%w: %s: %d bytes, more than a log ever holds", ErrCorrupt, path, fi.Size())
	}
	if err != nil {
		return nil, nil, errors.Join(err, f.Close())
	}
	return f, fi, nil
}

// checkChain checks what the chain's records mean against the table,
// before any of it is used: every element file holds the row count, every
// write ends within its file's length, and every length lies within its
// file, or (replay: the records are about to be applied) is reached by the
// record's own writes, so that no record grows a file past the bytes it
// carries. In the writer's boot the files hold every record already. A
// record that fails is corrupt, for a reader too.
func (t *core) checkChain(c walChain, replay bool) error {
	path := filepath.Join(t.dir, walFile)
	// What each file holds once the records before are applied: a record
	// may keep a length an earlier one grew the file to.
	holds := make([]uint64, len(t.walFiles))
	for i, f := range t.walFiles {
		holds[i] = math.MaxUint64 // a file this reader does not map
		if f != nil {
			holds[i] = uint64(f.Cap())
		}
	}
	for _, r := range c.records {
		bad := func(why string, args ...any) error {
			return fmt.Errorf("%w: %s: record %d: %s", ErrCorrupt, path, r.seq, fmt.Sprintf(why, args...))
		}
		if why := r.contradiction(t.walElemFile); why != "" {
			return bad("%s", why)
		}
		if !replay {
			for i, f := range t.walFiles {
				if r.lens[i] > holds[i] {
					return bad("%s has %d elements, the file holds %d", f.Path(), r.lens[i], holds[i])
				}
			}
			continue
		}
		if i := r.grow(holds, nil); i >= 0 {
			return bad("%s has %d elements, the file holds %d, and the record does not carry the rest", t.walFiles[i].Path(), r.lens[i], holds[i])
		}
	}
	return nil
}

// contradiction returns what in the record cannot describe a table whose
// files are elemFile (true for a file of rows, false for a heap or
// dictionary), or "": a row count past int, a file of rows whose length is
// not the row count, a write that ends past its file's length.
func (r *walRecord) contradiction(elemFile []bool) string {
	if r.rows > math.MaxInt {
		return fmt.Sprintf("row count %d", r.rows)
	}
	for i, l := range r.lens {
		if i < len(elemFile) && elemFile[i] && l != r.rows {
			return fmt.Sprintf("file %d holds %d rows, the table %d", i, l, r.rows)
		}
	}
	for _, w := range r.writes {
		if w.at+w.count > r.lens[w.file] {
			return fmt.Sprintf("a write of %d elements at %d of file %d, which ends at %d", w.count, w.at, w.file, r.lens[w.file])
		}
	}
	return ""
}

// grow applies the record's lengths to holds, what each file holds once
// the records before it are applied, as a replay grows the files: a file
// grows only by the elements the record carries. It returns the first
// file the record would grow past that, or -1; grown (if not nil) is told
// each file it grows.
func (r *walRecord) grow(holds []uint64, grown func(file int)) int {
	var spans [][][2]uint64 // each file's writes: made once, if a file grows
	for i, l := range r.lens[:min(len(r.lens), len(holds))] {
		if l <= holds[i] {
			continue
		}
		if spans == nil {
			spans = r.spansByFile()
		}
		if !covers(spans[i], holds[i], l) {
			return i
		}
		holds[i] = l
		if grown != nil {
			grown(i)
		}
	}
	return -1
}

// spansByFile returns the record's writes, [at, at+count) per file.
func (r *walRecord) spansByFile() [][][2]uint64 {
	spans := make([][][2]uint64, len(r.lens))
	for _, w := range r.writes {
		if w.count > 0 {
			spans[w.file] = append(spans[w.file], [2]uint64{w.at, w.at + w.count})
		}
	}
	return spans
}

// covers reports whether spans (a file's writes in a record) carry every
// element of [from, to): growth only by the bytes a record holds, so that
// a small crafted record cannot make a table of zeros, or a huge file.
func covers(spans [][2]uint64, from, to uint64) bool {
	slices.SortFunc(spans, func(a, b [2]uint64) int { return cmp.Compare(a[0], b[0]) })
	for _, s := range spans {
		if s[1] <= from {
			continue
		}
		if s[0] > from {
			break
		}
		from = s[1]
	}
	return from >= to
}

// replayWAL applies the chain's records to the files, in order, and returns
// the commit they end with: the table as of the last Sync. A reader, which
// writes nothing, instead checks that the files already hold every record
// (they do once the page cache reached the disk), and otherwise fails with
// [ErrNeedsRecovery].
func (t *core) replayWAL(c walChain, slot commitSlot) (commitSlot, error) {
	if len(c.records) == 0 {
		return slot, nil
	}
	if err := t.checkChain(c, true); err != nil {
		return slot, err
	}
	ro := t.opts.ReadOnly
	for _, r := range c.records {
		crashpoint.Hit("table.recover.replay")
		for i, f := range t.walFiles {
			if f == nil || r.lens[i] <= uint64(f.Cap()) {
				continue
			}
			if ro {
				return slot, t.needsReplay(r)
			}
			if err := f.EnsureCap(int(r.lens[i])); err != nil {
				return slot, fmt.Errorf("table: %s: replay the log: %w", t.dir, err)
			}
		}
		if ro {
			continue
		}
		for _, w := range r.writes {
			if f := t.walFiles[w.file]; f != nil {
				copy(fileElems(f, int(w.at), int(w.count)), w.data)
			}
		}
	}
	if ro {
		if err := t.verifyWAL(c); err != nil {
			return slot, err
		}
	}
	t.recovery.Replayed = len(c.records)
	return chainCommit(t.man, c.records[len(c.records)-1], t.hash), nil
}

// verifyWAL checks that the files hold what the chain's records wrote, as
// the last record to write each element left it (later records overwrite
// earlier ones: rows set again, swapped in, cut and appended again). Per
// file, one sweep over the writes' ends in order, with the newest write
// covering each stretch on top of a heap: O(w log w) for w writes, however
// a crafted log orders them.
func (t *core) verifyWAL(c walChain) error {
	last := c.records[len(c.records)-1]
	byFile := make([][]liveWrite, len(t.walFiles))
	order := 0 // of the writes, as replay applies them: the later wins
	for k, r := range c.records {
		for j := range r.writes {
			w := &r.writes[j]
			if t.walFiles[w.file] == nil {
				continue
			}
			if lo, hi := w.at, min(w.at+w.count, last.lens[w.file]); lo < hi {
				byFile[w.file] = append(byFile[w.file], liveWrite{lo: lo, hi: hi, rec: k, order: order, w: w})
			}
			order++
		}
	}
	for i, ws := range byFile {
		f := t.walFiles[i]
		es := uint64(f.ElemSize())
		ends := make([]uint64, 0, 2*len(ws))
		for _, w := range ws {
			ends = append(ends, w.lo, w.hi)
		}
		slices.Sort(ends)
		ends = slices.Compact(ends)
		slices.SortFunc(ws, func(a, b liveWrite) int { return cmp.Compare(a.lo, b.lo) })
		var live newestFirst
		next := 0
		for p := 0; p+1 < len(ends); p++ {
			lo, hi := ends[p], ends[p+1] // no write starts or ends inside
			for ; next < len(ws) && ws[next].lo <= lo; next++ {
				heap.Push(&live, ws[next])
			}
			for live.Len() > 0 && live[0].hi <= lo {
				heap.Pop(&live)
			}
			if live.Len() == 0 {
				continue
			}
			top := live[0]
			got := fileElems(f, int(lo), int(hi-lo))
			if string(got) != string(top.w.data[(lo-top.w.at)*es:(hi-top.w.at)*es]) {
				return t.needsReplay(c.records[top.rec])
			}
		}
	}
	return nil
}

// liveWrite is a write of record rec, clipped to [lo, hi); order is its
// place among all the chain's writes.
type liveWrite struct {
	lo, hi     uint64
	rec, order int
	w          *walWrite
}

// newestFirst is a heap of writes, the latest record's on top.
type newestFirst []liveWrite

func (h newestFirst) Len() int           { return len(h) }
func (h newestFirst) Less(i, j int) bool { return h[i].order > h[j].order }
func (h newestFirst) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *newestFirst) Push(x any)        { *h = append(*h, x.(liveWrite)) }
func (h *newestFirst) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func (t *core) needsReplay(r walRecord) error {
	return fmt.Errorf("%w: %s: the log holds Syncs up to %d rows that the column files may not hold yet (open it writable once)",
		ErrNeedsRecovery, t.dir, r.rows)
}

// fileElems returns elements [at, at+n) of f, which lie below its Cap.
func fileElems(f *colfile.File, at, n int) []byte {
	es := f.ElemSize()
	return unsafe.Slice((*byte)(unsafe.Add(f.Data(), at*es)), n*es)
}
