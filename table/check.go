package table

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"

	"github.com/mmapvec/persistence"
	"github.com/mmapvec/persistence/internal/colfile"
	"github.com/mmapvec/persistence/internal/fsutil"
	"github.com/mmapvec/persistence/internal/twoslot"
	"github.com/mmapvec/persistence/lockfile"
)

// The consistency check reads each file's own numbers from the disk, with
// pread, and compares them with each other: every column header's live
// length, commit slots, element type and size, the COMMIT slots, the
// JOURNAL, and the manifest against the directory. It trusts none of what
// an open would decide, so that it can tell where two files disagree rather
// than what an open would make of them. Only the READERS page is mapped, as
// readers map it: its words are read atomically, and they say whether a
// writer is at work on the files meanwhile, and what it may have in flight.
// It is one file because it is one pass: the report type and each
// comparison it makes, file by file, in the order the files depend on each
// other, with what a running writer explains beside each.

// CheckReport is what a consistency check found. Problems are damage or
// interrupted steps; Notes are findings that need no action, or that the
// next writable open (or persist repair) takes care of by itself.
type CheckReport struct {
	Dir     string
	Columns int
	// Rows is the row count an open would choose, and Source where it comes
	// from: "live" (the columns' live lengths, written in this boot) or
	// "committed" (the COMMIT record). CommittedRows is the count in COMMIT,
	// -1 if it could not be read.
	Rows, CommittedRows int
	Source              string
	// Writer is the pid of a writer of this boot that had the table open
	// when the check began, 0 if none: then Rows is the count it had
	// published (Source "published"), and what it had in flight is noted.
	Writer   int
	Problems []Problem
	Notes    []string
}

// Problem is one inconsistency: the file it was found in (a name in the
// table directory, "" for the table as a whole) and what disagrees, with
// the numbers. Err matches [ErrCorrupt] for damage, [ErrNeedsRecovery]
// for the state an interrupted step left, which a writable open or persist
// repair finishes, or [fs.ErrPermission] for a file the caller may not
// read.
type Problem struct {
	File string
	Err  error
}

func (p Problem) Error() string {
	if p.File == "" {
		return p.Err.Error()
	}
	return p.File + ": " + p.Err.Error()
}

func (p Problem) Unwrap() error { return p.Err }

// OK reports whether the check found no problem.
func (r *CheckReport) OK() bool { return len(r.Problems) == 0 }

// Err returns nil if the check found no problem, or every problem joined:
// errors.Is(err, ErrCorrupt) tells whether any is damage.
func (r *CheckReport) Err() error {
	errs := make([]error, len(r.Problems))
	for i, p := range r.Problems {
		errs[i] = p
	}
	return errors.Join(errs...)
}

// String is a one-line summary.
func (r *CheckReport) String() string {
	s := fmt.Sprintf("%s: %d columns, %d rows (%s), %d committed", r.Dir, r.Columns, r.Rows, r.Source, r.CommittedRows)
	if r.Writer != 0 {
		s += fmt.Sprintf(", writer pid %d", r.Writer)
	}
	switch n := len(r.Problems); n {
	case 0:
		return s + "; ok"
	case 1:
		return s + "; 1 problem"
	default:
		return fmt.Sprintf("%s; %d problems", s, n)
	}
}

func (r *CheckReport) problem(file string, kind error, format string, args ...any) {
	r.Problems = append(r.Problems, Problem{File: file, Err: fmt.Errorf("%w: %s", kind, fmt.Sprintf(format, args...))})
}

// fileProblem reports a file that could not be read or parsed. A file
// the caller may not read is not damage: its error keeps
// [fs.ErrPermission] and is not [ErrCorrupt].
func (r *CheckReport) fileProblem(file string, err error) {
	if !errors.Is(err, ErrCorrupt) && !errors.Is(err, fs.ErrPermission) {
		err = fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	r.Problems = append(r.Problems, Problem{File: file, Err: err})
}

func (r *CheckReport) note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

// Check checks the consistency of the table in dir without writing
// anything. It takes no LOCK: like a reader, it holds a shared flock on the
// table's READERS file, so it runs beside a writer (in any process) and
// beside readers, and only an operation that rewrites files (such as
// [Repair]) excludes it, failing it with [ErrLocked]. A table whose
// writers never made READERS (an earlier format) is checked under a shared
// LOCK, as before, which a writer of that format holds exclusively.
//
// Beside a running writer (the READERS page says a writer of this boot has
// the table open and its process runs), the files move while they are
// read. What such a writer legitimately has in flight is noted, not
// reported as a problem: columns whose live lengths differ or run past
// the count it published (an append, or a change in place, part way), an
// intent in the JOURNAL while a change in place runs, a COMMIT slot or a
// column header read while it was being written (read again first). Damage
// is still reported, and so is what the writer could not have left: a
// column shorter than the published count, or an intent in the JOURNAL
// with no change in place running.
//
// It returns an error only when it cannot check at all (no table, locked);
// what it finds is in the report, whose Err lists the problems.
func Check(dir string) (*CheckReport, error) {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("%w: %w", ErrNotTable, err)
	case err != nil:
		return nil, err
	case !fi.IsDir():
		return nil, fmt.Errorf("%w: %s is not a directory", ErrNotTable, dir)
	}
	if _, err := os.Lstat(filepath.Join(dir, persistence.ManifestFile)); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s has no %s", ErrNotTable, dir, persistence.ManifestFile)
	}
	page, err := openReadersReader(dir, 0)
	switch {
	case err == nil:
		defer page.close()
		return checkDir(dir, page), nil
	case errors.Is(err, ErrLocked):
		return nil, fmt.Errorf("table: check %s: %w", dir, err)
	}
	// No READERS (or one that is not a file, which the check reports):
	// the LOCK of an earlier format's writers, if any, keeps the files still.
	lock, err := lockfile.Acquire(filepath.Join(dir, lockFile), &lockfile.Options{Shared: true, NoCreate: true})
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// No writer ever ran without creating it: nothing to exclude.
	case err != nil:
		return nil, fmt.Errorf("table: check %s: %w", dir, err)
	default:
		defer lock.Release()
	}
	return checkDir(dir, nil), nil
}

// Check checks the consistency of the table's files as they are on the
// disk now (see the function Check). A table open for writing passes it at
// every moment between its methods; rows appended since the last Sync are a
// note, not a problem. A reader's check is the function's, beside whatever
// writer runs.
func (t *core) Check() (*CheckReport, error) {
	if t.closed {
		return nil, ErrClosed
	}
	var page *readersPage
	if t.opts.ReadOnly {
		page = t.readers // the writer's own files stand still between its methods
	}
	return checkDir(t.dir, page), nil
}

// checkDir checks table directory dir; the caller holds its lock, a shared
// flock on page (nil: no writer to allow for), or knows there is none.
func checkDir(dir string, page *readersPage) *CheckReport {
	r := &CheckReport{Dir: dir, CommittedRows: -1}
	w := watchWriter(r, page)
	m := checkManifest(r, dir)
	if m == nil {
		return r
	}
	r.Columns = len(m.Columns)
	if checkSchemaChange(r, dir, m) {
		return r
	}
	checkEntries(r, dir, m, nil)
	slot, haveCommit := checkCommit(r, dir, m, w)
	var logged *loggedGrowth
	if haveCommit {
		slot, logged = checkWAL(r, dir, m, slot)
	}
	facts := checkColumns(r, dir, m, w)
	minCap, minLive := checkLengths(r, m, facts, slot, haveCommit, w, logged)
	checkJournal(r, dir, m, slot, haveCommit, minCap, w)
	checkPublished(r, m, facts, minCap, minLive, w)
	checkVars(r, dir, m, slot, haveCommit, logged)
	return r
}

// liveWriter is what the check saw of a running writer: the READERS page
// before it read any file, and, read once after the last file, whether a
// change in place ran in between. nil when no writer runs.
type liveWriter struct {
	page    *readersPage
	start   pubState
	settled bool
	moved   bool // a change in place ran while the files were read
}

// watchWriter reads the page before any file. A page of this boot whose
// counts fail their check bits is damage; no page, or another boot's, is
// no writer.
func watchWriter(r *CheckReport, page *readersPage) *liveWriter {
	if page == nil {
		return nil
	}
	st, err := page.glance()
	if err != nil {
		r.fileProblem(readersFile, err)
		return nil
	}
	if !st.running() {
		return nil
	}
	r.Writer = st.pid
	return &liveWriter{page: page, start: st}
}

// inPlace reports whether the writer was changing rows in place at any
// moment between the start and now: the sequence count was odd at either
// end, or moved. The first call fixes the answer; it comes after the files
// it is about were read.
func (w *liveWriter) inPlace() bool {
	if !w.settled {
		w.page.sync() // the files' reads before the count's load
		end := w.page.load(rdSeq)
		w.moved = w.start.seq&1 == 1 || end != w.start.seq
		w.settled = true
	}
	return w.moved
}

func (w *liveWriter) running() bool { return w != nil }

func checkManifest(r *CheckReport, dir string) *persistence.Manifest {
	name := persistence.ManifestFile
	if err := regularFile(filepath.Join(dir, name)); err != nil {
		r.fileProblem(name, err)
		return nil
	}
	m, err := persistence.ReadManifest(dir)
	if err != nil {
		r.fileProblem(name, err)
		return nil
	}
	if err := m.CheckArch(); err != nil {
		r.Problems = append(r.Problems, Problem{File: name, Err: err})
		return nil
	}
	return m
}

// checkEntries compares the directory with the manifest: every column file
// there, nothing else but the table's own files, and the leftovers of
// interrupted steps (inside and next to the directory) noted.
// checkSchemaChange reports a schema change that a crash interrupted (or
// that runs): the SCHEMA record's files are the table's, and the rest of
// the files are compared once a writable open has finished or rolled it
// back. It reports whether there was one.
func checkSchemaChange(r *CheckReport, dir string, m *persistence.Manifest) bool {
	rec, pending, err := readSchemaRecord(dir)
	if err != nil {
		r.fileProblem(schemaFile, err)
		return true
	}
	if !pending {
		return false
	}
	how := "rolls it back (the manifest is still the old one)"
	if m.Hash() == rec.Target {
		how = "finishes it (the manifest has switched to the new schema)"
	}
	r.problem(schemaFile, ErrNeedsRecovery, "an interrupted schema change: a writable open (persist repair) %s", how)
	checkEntries(r, dir, m, &rec)
	r.note("the columns and COMMIT are compared once the schema change is finished or rolled back")
	return true
}

func checkEntries(r *CheckReport, dir string, m *persistence.Manifest, change *schemaRecord) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		r.fileProblem("", err)
		return
	}
	want := map[string]bool{lockFile: false, commitFile: true, journalFile: false, readersFile: false, walFile: false, persistence.ManifestFile: true}
	for _, c := range m.Columns {
		for _, f := range c.Files() {
			want[f] = true
		}
	}
	prepared := map[string]bool{}
	unrecorded := map[string]bool{} // what a compaction stopped before its record leaves
	if change == nil {
		unrecorded[commitNext] = true
		for _, c := range m.Columns {
			for _, f := range c.Files() {
				unrecorded[f+preparedSuffix] = true
			}
		}
	}
	if change != nil {
		// A schema change's files, before or after its switch.
		for _, f := range append(append([]string{schemaFile, commitNext}, change.Built...), change.Retired...) {
			want[f] = false
		}
		for _, f := range change.Prepared {
			want[f+preparedSuffix], prepared[f] = false, true
		}
	}
	for _, e := range entries {
		name := e.Name()
		_, known := want[name]
		switch {
		case known && !e.Type().IsRegular():
			r.problem(name, ErrCorrupt, "a %s, not a regular file; the table's files must be its own", fsutil.KindName(e.Type()))
		case known || tempFile(name):
			// Temporary files are noted below with the aside directories.
		case unrecorded[name] && e.Type().IsRegular():
			r.note("leftover %s of a compaction that stopped before it switched; a writable open removes it", name)
		default:
			r.problem(name, ErrCorrupt, "not one of the table's files (the manifest names no such column); move it out of the table directory")
		}
	}
	for _, c := range m.Columns {
		for _, f := range c.Files() {
			if prepared[f] {
				continue // renamed into place when the change is finished
			}
			if _, err := os.Lstat(filepath.Join(dir, f)); errors.Is(err, fs.ErrNotExist) {
				r.problem(f, ErrCorrupt, "missing: the manifest names column %q", c.Name)
			}
		}
	}
	if _, err := os.Lstat(filepath.Join(dir, commitFile)); errors.Is(err, fs.ErrNotExist) {
		r.problem(commitFile, ErrCorrupt, "missing")
	}
	if _, err := os.Lstat(filepath.Join(dir, lockFile)); errors.Is(err, fs.ErrNotExist) {
		r.note("%s is missing; a writable open creates it", lockFile)
	}
	temps, _ := tempLeftovers(dir)
	for _, l := range append(temps, asideLeftovers(dir)...) {
		r.note("leftover %s", l)
	}
}

// checkCommit reads both COMMIT slots and reports each that fails, and
// whether the chosen one agrees with the manifest and with itself.
func checkCommit(r *CheckReport, dir string, m *persistence.Manifest, w *liveWriter) (commitSlot, bool) {
	ncols := commitEntries(m)
	size := slotBytes(ncols)
	var slots [2]commitSlot
	var ok [2]bool
	for read := 0; ; read++ {
		b, err := fsutil.ReadRegular(filepath.Join(dir, commitFile), int64(2*size), int64(2*size))
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fsutil.ErrNotRegular) {
			return commitSlot{}, false // reported with the directory
		}
		if err != nil {
			r.fileProblem(commitFile, err)
			return commitSlot{}, false
		}
		for i := range 2 {
			slots[i], ok[i] = decodeCommit(i, b[i*size:(i+1)*size], ncols)
		}
		if ok[0] && ok[1] || !w.running() || read == 1 {
			break
		}
		// A running writer's Sync may have been writing the slot: once more.
	}
	idx, _, found := twoslot.Newer(ok[0], ok[1], slots[0].seq, slots[1].seq)
	if !found {
		r.problem(commitFile, ErrCorrupt, "both commit slots fail their checks; the committed row count is lost")
		return commitSlot{}, false
	}
	s := slots[idx]
	for i := range 2 {
		if !ok[i] {
			r.problem(commitFile, ErrNeedsRecovery, "commit slot %d fails its checks (a torn write); the other (seq %d, %d rows) counts, and the next Sync (persist repair) rewrites it",
				i, s.seq, s.rows)
		}
	}
	if h := m.Hash(); s.hash != h {
		r.problem(commitFile, ErrCorrupt, "seq %d was committed for another manifest (hash %016x, the manifest's %016x)", s.seq, s.hash, h)
		return commitSlot{}, false
	}
	for i, l := range s.lengths[:len(m.Columns)] {
		if l != s.rows {
			r.problem(commitFile, ErrCorrupt, "seq %d commits %d rows but column %q with %d", s.seq, s.rows, m.Columns[i].Name, l)
		}
	}
	r.CommittedRows = int(min(s.rows, math.MaxInt))
	return s, true
}

// checkWAL reads the Syncs logged since the commit slot and returns the
// commit they end with: the state the files must hold (after a restart, once
// an open applied them), and what the records carry, nil if there are none.
func checkWAL(r *CheckReport, dir string, m *persistence.Manifest, slot commitSlot) (commitSlot, *loggedGrowth) {
	c, f, _, err := openChain(ne, dir, os.O_RDONLY, m, slot.seq, m.Hash())
	if err != nil {
		r.fileProblem(walFile, err)
		return slot, nil
	}
	if f != nil {
		f.Close()
	}
	if len(c.records) == 0 {
		return slot, nil
	}
	last := c.records[len(c.records)-1]
	r.note("%s holds %d Syncs past the last checkpoint (seq %d to %d, %d rows)", walFile, len(c.records), c.records[0].seq, last.seq, last.rows)
	if last.rows > math.MaxInt {
		r.problem(walFile, ErrCorrupt, "record %d commits %d rows", last.seq, last.rows)
		return slot, nil
	}
	r.CommittedRows = int(last.rows)
	return chainCommit(m, last, slot.hash), replayGrowth(r, dir, m, c, slot)
}

// loggedGrowth is what the log's records carry past the checkpoint. After
// a power cut the files may be shorter than the log's lengths, and the
// elements a logged Sync wrote into room a file had may read as zeros (a
// logged Sync flushes the log alone); an open after a restart grows the
// files and writes those elements from the records, which is recovery to
// do, not damage, when every record carries what it grows (as the open
// checks).
type loggedGrowth struct {
	base  commitSlot      // the checkpoint the records follow
	grown map[string]bool // files the records grow past their size
}

// replayGrowth goes through the records as the open does and reports the
// first that it refuses: one that contradicts the table (a file of rows
// whose length is not the row count, a write past its file's length); in
// the boot that wrote every file (the page cache holds every logged Sync),
// one that gives a file more elements than it holds; after a restart, one
// that gives a file elements it neither holds nor carries, as a replay
// from each file's size would.
func replayGrowth(r *CheckReport, dir string, m *persistence.Manifest, c walChain, base commitSlot) *loggedGrowth {
	g := &loggedGrowth{base: base, grown: map[string]bool{}}
	var names []string
	for _, col := range m.Columns {
		names = append(names, col.Files()...) // as the log numbers them
	}
	_, elemFile := walElemSizes(m)
	holds := make([]uint64, len(names))
	live := true
	for i, name := range names {
		holds[i] = math.MaxUint64 // unreadable: reported with its column
		x, err := colfile.ReadHeaderFacts(filepath.Join(dir, name))
		if err == nil {
			holds[i] = uint64(x.Capacity)
		}
		live = live && err == nil && x.SameBoot
	}
	for _, rec := range c.records {
		if why := rec.contradiction(elemFile); why != "" {
			r.problem(walFile, ErrCorrupt, "record %d: %s", rec.seq, why)
			return nil
		}
		if live {
			for i, l := range rec.lens[:min(len(rec.lens), len(holds))] {
				if l > holds[i] {
					r.problem(walFile, ErrCorrupt, "record %d gives %s %d elements, the file holds %d, and in the boot that wrote the files they hold every logged Sync",
						rec.seq, names[i], l, holds[i])
					return nil
				}
			}
			continue
		}
		if i := rec.grow(holds, func(i int) { g.grown[names[i]] = true }); i >= 0 {
			r.problem(walFile, ErrCorrupt, "record %d gives %s %d elements, the file holds %d, and the record does not carry the rest", rec.seq, names[i], rec.lens[i], holds[i])
			return nil
		}
	}
	return g
}

// grew notes a file that the records grow past its size, and reports
// whether they do.
func (g *loggedGrowth) grew(r *CheckReport, name string, length uint64, capacity int) bool {
	if g == nil || !g.grown[name] {
		return false
	}
	r.note("%s: the log's Syncs give it %d elements, the file holds %d (a power cut before a checkpoint): an open after a restart grows it from the log's records",
		name, length, capacity)
	return true
}

// checkColumns reads each column file's header and reports what disagrees
// with the manifest or with the file's own size. Missing or unreadable
// columns have no entry in the result.
func checkColumns(r *CheckReport, dir string, m *persistence.Manifest, w *liveWriter) map[string]colfile.HeaderFacts {
	facts := map[string]colfile.HeaderFacts{}
	for _, c := range m.Columns {
		x, err := readColumnFacts(filepath.Join(dir, c.File), w)
		if errors.Is(err, fs.ErrNotExist) {
			continue // reported with the directory
		}
		if err != nil {
			r.fileProblem(c.File, err)
			continue
		}
		ok := true
		if x.Tag != columnTag {
			r.problem(c.File, ErrCorrupt, "header tag %q, a table column's is %q", x.Tag[:], columnTag[:])
			ok = false
		}
		if x.DataVersion != m.DataVersion {
			r.problem(c.File, ErrCorrupt, "data version %d, the manifest's %d", x.DataVersion, m.DataVersion)
		}
		if x.ElemSize != c.Layout.Size || x.ElemAlign != c.Layout.Align || x.Fingerprint != c.Layout.Fingerprint() {
			r.problem(c.File, ErrCorrupt, "holds %d-byte elements (align %d, layout %016x), the manifest says %d (align %d, layout %016x: %s)",
				x.ElemSize, x.ElemAlign, x.Fingerprint, c.Layout.Size, c.Layout.Align, c.Layout.Fingerprint(), c.Layout)
			ok = false
		}
		if !x.Slots[0].OK && !x.Slots[1].OK {
			r.problem(c.File, ErrCorrupt, "both commit slots of the header fail their CRC")
		}
		if x.SameBoot && x.Live < 0 {
			r.problem(c.File, ErrCorrupt, "live length word %#016x fails its check bits", x.LiveWord)
		}
		if x.SameBoot && x.Live > x.Capacity {
			r.problem(c.File, ErrCorrupt, "live length %d, the file holds %d elements (%d bytes)", x.Live, x.Capacity, x.FileSize)
		}
		if x.PartialBytes > 0 {
			r.note("%s: %d bytes past its last whole element: room left by a growth that stopped part way; persist repair trims it",
				c.File, x.PartialBytes)
		}
		if ok {
			facts[c.Name] = x
		}
	}
	return facts
}

// readColumnFacts reads a column header. Beside a running writer a header
// can be caught moving: the file's size taken just before the writer grew
// it and its live length just after the writer published rows in the
// growth, or a word read while it was stored. Such a header is read again
// (a few times, as growth doubles and races rarely twice); since files
// never shrink, a later size holds every length published before it.
func readColumnFacts(path string, w *liveWriter) (colfile.HeaderFacts, error) {
	x, err := colfile.ReadHeaderFacts(path)
	for read := 1; err == nil && w.running() && read < 3; read++ {
		moving := x.SameBoot && (x.Live < 0 || x.Live > x.Capacity) || !x.Slots[0].OK && !x.Slots[1].OK
		if !moving {
			break
		}
		x, err = colfile.ReadHeaderFacts(path)
	}
	return x, err
}

// checkLengths compares the columns' lengths with each other and with
// COMMIT, decides the row count an open would choose, and returns the
// smallest capacity and the shortest live length (-1 if no column could be
// read, or the live lengths do not count).
func checkLengths(r *CheckReport, m *persistence.Manifest, facts map[string]colfile.HeaderFacts, slot commitSlot, haveCommit bool, w *liveWriter, logged *loggedGrowth) (int, int) {
	minCap, minLive, maxLive := -1, -1, -1
	live, sameBoot := len(facts) == len(m.Columns), 0
	for _, c := range m.Columns {
		x, ok := facts[c.Name]
		if !ok {
			continue
		}
		if minCap < 0 || x.Capacity < minCap {
			minCap = x.Capacity
		}
		if haveCommit && slot.rows > uint64(x.Capacity) && !logged.grew(r, c.File, slot.rows, x.Capacity) {
			what := "COMMIT"
			if logged != nil {
				what = "the log's last Sync"
			}
			r.problem(c.File, ErrCorrupt, "%s (seq %d) has %d rows, the file holds %d elements (%d bytes)", what, slot.seq, slot.rows, x.Capacity, x.FileSize)
		}
		if x.SameBoot {
			sameBoot++
		}
		if !x.SameBoot || x.Live < 0 || x.Live > x.Capacity {
			live = false // a bad live length is reported with its column
			continue
		}
		if minLive < 0 || x.Live < minLive {
			minLive = x.Live
		}
		maxLive = max(maxLive, x.Live)
	}
	if live {
		r.Source, r.Rows = "live", minLive
		switch {
		case w.running() && w.start.rows < 0:
			r.note("live lengths %d to %d: the writer was opening the table", minLive, maxLive)
		case w.running() && (minLive != maxLive || maxLive > w.start.rows):
			r.note("live lengths %d to %d, the writer had published %d: its append or change in place was part way", minLive, maxLive, w.start.rows)
		case minLive != maxLive:
			for _, c := range m.Columns {
				if x := facts[c.Name]; x.Live != minLive {
					r.problem(c.File, ErrNeedsRecovery, "live length %d, the shortest column %d: an append was interrupted; a writable open (persist repair) cuts it",
						x.Live, minLive)
				}
			}
		}
		if haveCommit && uint64(minLive) > slot.rows {
			r.note("%d rows written since the last Sync are not committed: they survive a crash of the process, not of the OS; Sync (or persist repair) commits them",
				uint64(minLive)-slot.rows)
		}
		return minCap, minLive
	}
	r.Source, r.Rows = "committed", r.CommittedRows
	if sameBoot > 0 && sameBoot < len(facts) {
		what := "an open after a reboot was interrupted"
		if w.running() {
			what = "the running writer is opening it"
		}
		r.note("%d of %d columns were last written in this boot, the others in another (%s): the committed count counts",
			sameBoot, len(m.Columns), what)
	}
	return minCap, -1
}

// checkPublished compares a running writer's published count with the
// files, once every file was read: each column holds it (a writer grows the
// files before it publishes), and, unless a change in place ran meanwhile
// (which lowers counts), every live length reaches it (a writer stores
// them before the count).
func checkPublished(r *CheckReport, m *persistence.Manifest, facts map[string]colfile.HeaderFacts, minCap, minLive int, w *liveWriter) {
	if !w.running() {
		return
	}
	rows := w.start.rows
	if rows < 0 {
		r.note("the writer (pid %d) is opening the table: its row count is not published yet", w.start.pid)
		return
	}
	r.Source, r.Rows = "published", rows
	r.note("a writer (pid %d) has the table open: %s published, %s at its last Sync", w.start.pid, rowCount(uint64(rows)), rowCount(uint64(max(w.start.committed, 0))))
	if minCap >= 0 && rows > minCap {
		r.problem(readersFile, ErrCorrupt, "the writer published %s, a column file holds %d elements", rowCount(uint64(rows)), minCap)
	}
	if minLive >= 0 && minLive < rows && !w.inPlace() {
		for _, c := range m.Columns {
			if x, ok := facts[c.Name]; ok && x.Live < rows {
				r.problem(c.File, ErrCorrupt, "live length %d, below the %s the writer published", x.Live, rowCount(uint64(rows)))
			}
		}
	}
}

// checkJournal reads the JOURNAL, which holds at most one intent: none, or
// one that a writable open redoes (or discards), within the columns' size.
func checkJournal(r *CheckReport, dir string, m *persistence.Manifest, slot commitSlot, haveCommit bool, minCap int, w *liveWriter) {
	rowSize := 0
	for _, c := range m.Columns {
		rowSize += c.Layout.Size
	}
	// Shorter than its size (a crash, or a power cut, while a writable open
	// sized it) it holds no intent, as for the open (readJournal).
	b, err := fsutil.ReadRegular(filepath.Join(dir, journalFile), 0, int64(journalSize(rowSize)))
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fsutil.ErrNotRegular) {
		return // made by the first writable open, or reported with the directory
	}
	if err != nil {
		r.fileProblem(journalFile, err)
		return
	}
	in, pending := readIntent(b, rowSize)
	if !pending {
		return
	}
	inPlace := w.running() && w.inPlace()
	if inPlace {
		// Capacities read before the intent: a Delete may have grown the
		// files to stage its rows since.
		minCap = capacityNow(dir, m, minCap)
	}
	what := describe(in)
	bad := ""
	switch {
	case minCap >= 0 && in.rowsBefore > uint64(minCap):
		bad = fmt.Sprintf("past the columns, which hold %d rows", minCap)
	case in.op == opSetRow && in.index >= in.rowsBefore:
		bad = "a row past the end"
	case in.op == opSwapRemove && in.index >= in.rowsBefore:
		bad = "a row past the end"
	case in.op == opTruncate && in.index > in.rowsBefore:
		bad = "longer than the table"
	case in.op.staged() && in.index >= in.rowsBefore:
		bad = "a row past the end"
	case in.op.staged() && in.kept >= in.rowsBefore-in.index:
		bad = "more rows kept than follow the first removed one"
	case in.op.staged() && minCap >= 0 && in.kept > uint64(minCap)-in.rowsBefore:
		bad = fmt.Sprintf("staged rows past the columns, which hold %d rows", minCap)
	}
	if bad != "" {
		r.problem(journalFile, ErrCorrupt, "holds %s, %s", what, bad)
		return
	}
	switch {
	case inPlace:
		r.note("%s holds %s: the running writer's change in place", journalFile, what)
	case w.running():
		r.problem(journalFile, ErrCorrupt, "holds %s while the running writer (pid %d) changes nothing in place: it clears every intent it writes", what, w.start.pid)
	case r.Source != "live" && haveCommit && !intentFitsCommit(in, slot):
		r.note("%s holds %s, written after the last Sync of an earlier boot: a writable open discards it", journalFile, what)
	default:
		r.problem(journalFile, ErrNeedsRecovery, "an interrupted %s: a writable open (persist repair) finishes it", what)
	}
}

// capacityNow is the smallest capacity of the columns read again, at least
// was (files never shrink); a column that fails to read is reported with
// the columns.
func capacityNow(dir string, m *persistence.Manifest, was int) int {
	now := -1
	for _, c := range m.Columns {
		x, err := colfile.ReadHeaderFacts(filepath.Join(dir, c.File))
		if err != nil {
			continue
		}
		if now < 0 || x.Capacity < now {
			now = x.Capacity
		}
	}
	return max(now, was)
}
