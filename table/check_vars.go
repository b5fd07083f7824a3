package table

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/mmapvec/persistence"
	"github.com/mmapvec/persistence/internal/colfile"
	"github.com/mmapvec/persistence/internal/fsutil"
)

// checkVars checks each variable-length column once the row count is
// decided: its aux files' headers, its extent (the live one where the rows
// are live or published, else COMMIT's), and every row's element against
// it, and a dictionary's entries. Files are read with pread, a block at a
// time; the elements before the extent, since a writer publishes an extent
// before any element that needs it.
func checkVars(r *CheckReport, dir string, m *persistence.Manifest, slot commitSlot, haveCommit bool, logged *loggedGrowth) {
	extents := slot.lengths[min(len(slot.lengths), len(m.Columns)):]
	xi := -1
	for _, c := range m.Columns {
		if !c.Variable() {
			continue
		}
		xi++
		if r.Rows < 0 {
			continue
		}
		committed := uint64(0)
		if haveCommit && xi < len(extents) {
			committed = extents[xi]
		}
		// The extent of the checkpoint the log's records follow: the
		// entries and values past it are the log's.
		checkpointed := committed
		if logged != nil {
			if base := logged.base.lengths[min(len(logged.base.lengths), len(m.Columns)):]; xi < len(base) {
				checkpointed = min(committed, base[xi])
			}
		}
		checkVar(r, dir, m, c, committed, checkpointed, haveCommit, logged)
	}
}

func checkVar(r *CheckReport, dir string, m *persistence.Manifest, c persistence.ColumnSpec, committed, checkpointed uint64, haveCommit bool, logged *loggedGrowth) {
	aux, ls := c.AuxFiles(), auxLayouts(c.Kind)
	var facts []colfile.HeaderFacts
	for j, name := range aux {
		x, err := colfile.ReadHeaderFacts(filepath.Join(dir, name))
		if errors.Is(err, fs.ErrNotExist) {
			return // reported with the directory
		}
		if err != nil {
			r.fileProblem(name, err)
			return
		}
		if x.Tag != columnTag || x.DataVersion != m.DataVersion || x.ElemSize != ls[j].Size || x.Fingerprint != ls[j].Fingerprint() {
			r.problem(name, ErrCorrupt, "header says tag %q, data version %d, %d-byte elements (layout %016x); a %s column's %s has %q, %d, %d (%016x)",
				x.Tag[:], x.DataVersion, x.ElemSize, x.Fingerprint, c.Kind, name, columnTag[:], m.DataVersion, ls[j].Size, ls[j].Fingerprint())
			return
		}
		if x.SameBoot && (x.Live < 0 || x.Live > x.Capacity) {
			r.problem(name, ErrCorrupt, "live length word %#016x fails its check bits or lies past the file's %d elements", x.LiveWord, x.Capacity)
			return
		}
		facts = append(facts, x)
	}
	live := r.Source != "committed"
	x := committed
	if live {
		x = uint64(facts[0].Live)
	} else if !haveCommit {
		return
	}
	if x > uint64(facts[0].Capacity) && (live || !logged.grew(r, aux[0], x, facts[0].Capacity)) {
		r.problem(aux[0], ErrCorrupt, "extent %d, the file holds %d elements", x, facts[0].Capacity)
		return
	}
	// After a restart, what the log's records wrote (rows, entries) may
	// read as zeros or lie past the files, which the open's replay mends:
	// the entries checked are the checkpoint's, the rows those the file
	// holds.
	entries, rows := x, r.Rows
	if !live && logged != nil {
		entries = checkpointed
		if cf, err := colfile.ReadHeaderFacts(filepath.Join(dir, c.File)); err == nil {
			rows = min(rows, cf.Capacity)
		}
	}
	if c.Kind == persistence.KindSymbol {
		var prev uint64
		ok := eachElem(r, dir, aux[0], int(entries), 8, func(i int, e []byte) bool {
			end := ne.Uint64(e)
			if end < prev {
				r.problem(aux[0], ErrCorrupt, "entry %d: the end offsets decrease (%d after %d)", i, end, prev)
				return false
			}
			prev = end
			return true
		})
		if !ok {
			return
		}
		if prev > uint64(facts[1].Capacity) {
			r.problem(aux[0], ErrCorrupt, "the entries end at byte %d, past the %d bytes of %s", prev, facts[1].Capacity, aux[1])
			return
		}
	}
	bad, first := 0, -1
	fits := func(e []byte) bool {
		if c.Kind == persistence.KindSymbol {
			return uint64(ne.Uint32(e)) <= x
		}
		start, end := ne.Uint64(e), ne.Uint64(e[8:])
		return start <= end && end <= x
	}
	for try := 0; ; try++ {
		bad, first = 0, -1
		if !eachElem(r, dir, c.File, rows, c.Layout.Size, func(i int, e []byte) bool {
			if !fits(e) {
				bad++
				if first < 0 {
					first = i
				}
			}
			return true
		}) {
			return
		}
		if bad == 0 || !live || try == 1 || c.Kind == persistence.KindSymbol {
			break
		}
		// A running writer may have appended values, and rows pointing at
		// them, after the extent was read: read it again, after the
		// elements (it is stored before them), and look once more.
		again, err := colfile.ReadHeaderFacts(filepath.Join(dir, aux[0]))
		if err != nil || again.Live < 0 || uint64(again.Live) <= x || again.Live > again.Capacity {
			break
		}
		x = uint64(again.Live)
	}
	unit := "heap bytes"
	if c.Kind == persistence.KindSymbol {
		unit = "dictionary entries"
	}
	switch {
	case bad == 0:
	case live:
		r.problem(c.File, ErrCorrupt, "%d rows (the first: row %d) point past the column's %d %s", bad, first, x, unit)
	default:
		r.problem(c.File, ErrNeedsRecovery, "%d rows (the first: row %d) changed after the last Sync point past its %d %s: a writable open (persist repair) resets them to empty",
			bad, first, x, unit)
	}
}

// eachElem calls fn with each of the first n elements of size bytes of
// the table file name, read with pread a block at a time, until fn
// returns false; it reports whether every element was read and accepted.
// A file that does not hold them is a problem.
func eachElem(r *CheckReport, dir, name string, n, size int, fn func(i int, e []byte) bool) bool {
	f, err := fsutil.OpenRegular(filepath.Join(dir, name), os.O_RDONLY, 0)
	if err != nil {
		return false // reported with the directory
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		r.fileProblem(name, err)
		return false
	}
	if int64(n) > (fi.Size()-headerPage)/int64(size) {
		r.problem(name, ErrCorrupt, "%d elements needed, the file holds %d", n, max(fi.Size()-headerPage, 0)/int64(size))
		return false
	}
	buf := make([]byte, min(n, 1<<16)*size)
	for at := 0; at < n; {
		k := min(n-at, len(buf)/size)
		b := buf[:k*size]
		if _, err := f.ReadAt(b, headerPage+int64(at)*int64(size)); err != nil {
			r.fileProblem(name, err)
			return false
		}
		for j := range k {
			if !fn(at+j, b[j*size:(j+1)*size]) {
				return false
			}
		}
		at += k
	}
	return true
}
