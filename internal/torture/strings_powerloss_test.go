// Power loss under a table with string, []byte and Symbol columns: disk
// images of the whole directory drawn by internal/powerloss (in place, and
// copy-on-write) at moments of random steps, opened as after a reboot.

package torture_test

import (
	"cmp"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/mmapvec/persistence/internal/bootid"
	"github.com/mmapvec/persistence/internal/crashpoint"
	"github.com/mmapvec/persistence/internal/fsutil"
	"github.com/mmapvec/persistence/internal/powerloss"
)

type sSynced struct {
	files dirImage
	model smodel
}

// sPowerLoss counts what the images of a string table showed.
type sPowerLoss struct {
	powerLoss
	inCompact int // images drawn inside a Compact
	// Values of rows changed in place since the last Sync: as that Sync
	// wrote them, as written since, reset to empty (Recovery.ValuesReset),
	// or anything where the power cut put garbage into the element itself.
	old, new, reset, garbage int
}

// TestTableStringsPowerLoss is TestTablePowerLoss for a table with string,
// []byte and Symbol columns: at random moments of random steps (appends,
// SetRow to longer and shorter values and new symbols, SwapRemove,
// Truncate, Sync, restarts of the writer) it builds images of every file
// from the last synced content plus a random subset of the pages written
// since, and opens each in a new boot. Each must open with the rows of the
// last completed Sync (or of the Sync in flight once its commit slot is on
// disk), every value exact; a row changed in place since that Sync has, per
// column, its old value or its new one, or, for a string, bytes or symbol
// column, the empty value, which Recovery.ValuesReset counts: never other
// bytes, unless the power cut put garbage into that row's element itself.
func TestTableStringsPowerLoss(t *testing.T) {
	stringsPowerLoss(t, powerloss.Model{Garbage: true, PowersafeOverwrite: true}, counts{short: 60, race: 80, def: 400, long: 5000}.n())
}

// TestTableStringsPowerLossCopyOnWrite is TestTableStringsPowerLoss on a
// copy-on-write file system (btrfs): each file keeps only what its own
// fdatasync made durable (or a file-system transaction caught), so a Sync
// must fdatasync every heap and dictionary file, not only the columns.
func TestTableStringsPowerLossCopyOnWrite(t *testing.T) {
	stringsPowerLoss(t, powerloss.Model{CopyOnWrite: true}, counts{short: 40, race: 50, def: 250, long: 2500}.n())
}

// stringsPowerLoss is tablePowerLoss for the string table; it stops after
// want images.
func stringsPowerLoss(t *testing.T, model powerloss.Model, want int) {
	track(t)
	s := seed(t)
	rng := newRand(s)
	const perMoment = 4
	dir := filepath.Join(t.TempDir(), "table")
	imgRoot := t.TempDir()
	bootid.Override("writer")
	defer bootid.Override("")
	tb, err := openSTable(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { tb.Close() }()
	files := 0 // every file a Sync must flush: the columns, heaps and dictionaries
	for _, c := range tb.Manifest().Columns {
		files += 1 + len(c.AuxFiles())
	}
	var (
		m       = smodel{boot: "writer"}
		durable = sSynced{files: readDir(t, dir), model: m.clone()}
		pending *sSynced
		touched = map[int]bool{} // slots written since the last Sync
		inFly   *op
		st      sPowerLoss
		failed  error
		inCheck bool
	)
	var (
		syncMu     sync.Mutex
		fsynced    = dirImage{} // each file as its last fdatasync left it
		fdatasyncs int
		syncErr    error
	)
	// A logged Sync flushes the log alone: every file, under either
	// model, holds what its own last fdatasync left.
	fsutil.SetSyncHook(func(path string) {
		if filepath.Dir(path) != dir {
			return // a check's image
		}
		name, b, err := readSynced(path)
		syncMu.Lock()
		defer syncMu.Unlock()
		fsynced[name] = b
		fdatasyncs++
		syncErr = cmp.Or(syncErr, err)
	})
	defer fsutil.SetSyncHook(nil)
	// Inside a Compact (after its Sync), durIno is the directory as its
	// last fsync made it durable, each file by inode; its files are kept
	// open so that no file made later takes the number of one removed.
	var (
		durIno inoDir
		pins   []*os.File
		cut    bool // the Compact reached its first cut
	)
	unpin := func() {
		for _, f := range pins {
			f.Close()
		}
		pins = pins[:0]
	}
	defer unpin()
	setDurIno := func() {
		unpin()
		durIno = readInoDir(t, dir)
		for name := range durIno {
			f, err := os.Open(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			pins = append(pins, f)
		}
	}
	var hook func(name string)
	barriers := 0 // data barriers since table.sync.flush
	// done: want images, both outcomes seen, images inside a Compact and
	// rows changed since a Sync (a short run goes on for them, up to four
	// times want).
	done := func() bool {
		return st.images >= 4*want || st.images >= want && st.atPending > 0 && st.atDurable > 0 && st.inCompact > 0 && st.touchedRows > 0
	}
	moment := func(at string) {
		if failed != nil || done() {
			return
		}
		inCheck = true
		defer func() { inCheck = false }()
		crashpoint.SetHook(nil) // the checks reach crash points too
		defer crashpoint.SetHook(hook)
		st.moments++
		cached := readDir(t, dir)
		syncMu.Lock()
		if syncErr != nil {
			failed = fmt.Errorf("reading a file after its fdatasync: %w", syncErr)
		}
		synced := maps.Clone(fsynced)
		syncMu.Unlock()
		n := perMoment
		if at == "table.sync.commit.written" && st.atPending == 0 {
			// Under copy-on-write, only a transaction that caught the
			// COMMIT page shows the Sync in flight: draw more.
			n *= 4
		}
		for range n {
			if failed != nil {
				return
			}
			var files map[string][]byte
			var losses map[string]powerloss.Loss
			if durIno != nil {
				// Inside a Compact, past its Sync: files are renamed over
				// others and removed, so the image is drawn by file
				// (inode) and by what the directory's last fsync made
				// durable; no row has changed since that Sync.
				// Its draws follow inode numbers, which differ from run
				// to run: they get a generator of their own, so that the
				// seed still replays the rest.
				files, losses = dirPowerLoss(newRand(rng.Uint64()), durIno, readInoDir(t, dir), model), nil
				st.inCompact++
			} else {
				base := durable
				if pending != nil {
					base = *pending
				}
				files, losses = sImage(rng, model, base, synced, cached, &st)
			}
			if err := checkSImage(files, losses, m.boot, imgRoot, durable, pending, touched, m, inFly, &st); err != nil {
				failed = fmt.Errorf("power loss at %s (moment %d, seed %d): %w", at, st.moments, s, err)
				return
			}
		}
	}
	var hookMu sync.Mutex // files flush in parallel goroutines, each reaching points
	hook = func(name string) {
		hookMu.Lock()
		defer hookMu.Unlock()
		if inCheck {
			return
		}
		fig.hook(name)
		switch name {
		case "table.sync.flush":
			barriers = 0
		case "vec.flush":
			barriers++
			return // a moment unhooks, and would hide the other flushes' points
		case "table.sync.commit": // data first: every file is durable
			if barriers != files {
				failed = fmt.Errorf("table.sync.commit reached after %d of %d data barriers (columns, heaps, dictionaries)", barriers, files)
			}
			pending = &sSynced{files: readDir(t, dir), model: syncing(m, inFly)}
		case "table.sync.log.written": // the record may reach the disk from now on
			pending = &sSynced{files: readDir(t, dir), model: syncing(m, inFly)}
		case "table.sync.done":
			durable, pending = sSynced{files: readDir(t, dir), model: pending.model}, nil
			clear(touched)
			if inFly != nil && inFly.kind == 'C' {
				setDurIno() // the Compact's own Sync: every file durable
			}
		case "table.compact.record", "table.compact.switch":
			setDurIno() // the rebuilt files and COMMIT.next, then the record, with the directory
		case "table.compact.cut":
			if !cut {
				setDurIno() // the switch finished, the directory synced
				cut = true
			}
		}
		if rng.IntN(8) == 0 || (name == "table.sync.commit.written" || name == "table.sync.log.written") && (rng.IntN(2) == 0 || st.atPending == 0) ||
			durIno != nil && (rng.IntN(8) == 0 || st.inCompact == 0) {
			moment(name)
		}
	}
	crashpoint.SetHook(hook)
	defer crashpoint.SetHook(nil)
	for step := 0; !done() && failed == nil; step++ {
		o := randomSOp(rng, tb.Len(), m.nextID)
		if o.kind == 'A' && o.a > 16 {
			o.a = uint64(1 + rng.IntN(1500)) // every moment copies the files
		}
		if o.kind == 'A' && tb.Len() > 4000 {
			o = op{kind: 'T', a: uint64(rng.IntN(tb.Len()))}
		}
		if rng.IntN(40) == 0 {
			o = op{kind: 'B', boot: fmt.Sprintf("writer-%d", step)}
		}
		if step%30 == 9 {
			o = op{kind: 'C'} // in a short run too
		}
		for i := range touchedBy(m, &o) {
			touched[i] = true
		}
		inFly = &o
		if tb, err = runSOp(tb, dir, o); err != nil {
			t.Fatalf("step %d %s: %v", step, o, err)
		}
		m.do(o)
		inFly = nil
		if o.kind == 'C' {
			// Every file is as the Compact's Sync and its fsyncs left it,
			// but the cuts, which drop spare capacity only; a file renamed
			// into place has no fdatasync of its own since.
			durable = sSynced{files: readDir(t, dir), model: m.clone()}
			syncMu.Lock()
			clear(fsynced)
			syncMu.Unlock()
			durIno, cut = nil, false
			unpin()
		}
		if o.kind == 'B' {
			// The writer's own restart, with every page on disk: the rows
			// of the last Sync, the values changed since reset or not.
			got, err := readSRows(tb)
			if err == nil {
				err = m.rowsFrom(got)
			}
			if err != nil {
				t.Fatalf("step %d %s: %v (recovery: %s)", step, o, err, tb.Recovered())
			}
			m = m.adopt(got)
		}
		if tb.Len() != m.n {
			t.Fatalf("step %d %s: the writer's table has %d rows, the model %d (recovery: %s)", step, o, tb.Len(), m.n, tb.Recovered())
		}
		if rng.IntN(4) == 0 {
			moment("after " + o.String())
		}
	}
	if failed != nil {
		t.Fatal(failed)
	}
	fig.add(&fig.images, st.images)
	kind := ""
	if model.CopyOnWrite {
		kind = fmt.Sprintf(" (copy-on-write: %d caught by a file-system transaction)", st.transactions)
	}
	t.Logf("%d power-loss images of a string table%s from %d moments (%d inside a Compact): %d opened at the last sync, %d at the sync in flight, %d with a redone intent; "+
		"%d rows changed in place since the sync differed: values as the sync wrote them %d, as written since %d, reset to empty %d, garbage in the element %d",
		st.images, kind, st.moments, st.inCompact, st.atDurable, st.atPending, st.redone, st.touchedRows, st.old, st.new, st.reset, st.garbage)
	if st.atDurable == 0 || st.atPending == 0 || st.inCompact == 0 {
		t.Errorf("no image opened at the sync in flight (%d) or at the last one (%d), or was drawn inside a Compact (%d): the test missed a case",
			st.atPending, st.atDurable, st.inCompact)
	}
	if fdatasyncs == 0 {
		t.Errorf("the sync hook saw no fdatasync of a file in %s: the images used the Syncs' snapshots", dir)
	}
}

// sImage draws one image of the table's directory under model: each file
// from its durable content (what its last fdatasync left, in fsynced, or
// base's for a file never flushed since) and what the page cache holds
// (cached). It returns the files and what became of each.
func sImage(rng *rand.Rand, model powerloss.Model, base sSynced, fsynced, cached dirImage, st *sPowerLoss) (map[string][]byte, map[string]powerloss.Loss) {
	files, losses := map[string][]byte{}, map[string]powerloss.Loss{}
	for _, name := range slices.Sorted(maps.Keys(cached)) {
		old, existed := base.files[name]
		if !existed && rng.IntN(2) == 0 {
			continue // created since the sync: its directory entry may be lost
		}
		if b, ok := fsynced[name]; ok {
			old = b // only this file's own fdatasync made its blocks durable
		}
		img, loss := powerloss.Image(rng, old, cached[name], model)
		if loss.Transaction {
			st.transactions++
		}
		files[name], losses[name] = img, loss
	}
	return files, losses
}

// checkSImage writes the files of an image and checks what it opens with:
// durable is the last Sync's state, pending the one in flight; cur is the
// writer's model, inFly the step it is in (whose writes the page cache may
// hold), touched the slots written since durable.
func checkSImage(files map[string][]byte, losses map[string]powerloss.Loss, writerBoot, imgRoot string, durable sSynced, pending *sSynced,
	touched map[int]bool, cur smodel, inFly *op, st *sPowerLoss) error {
	dir := filepath.Join(imgRoot, fmt.Sprint(st.images))
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	for name, b := range files {
		if err := writeImage(filepath.Join(dir, name), b); err != nil {
			return err
		}
	}
	st.images++
	bootid.Override(fmt.Sprintf("after-power-loss-%d", st.images))
	defer bootid.Override(writerBoot)
	tb, err := openSTable(dir, false)
	if err != nil {
		return fmt.Errorf("image refused: %w", err)
	}
	defer tb.Close()
	rec := tb.Recovered()
	got, err := readSRows(tb)
	if err != nil {
		return err
	}
	var m smodel
	switch {
	case len(got) == durable.model.committed && rec.CommittedRows == durable.model.committed:
		m = durable.model
		st.atDurable++
	case pending != nil && rec.CommittedRows == pending.model.committed && len(got) == pending.model.committed:
		m = pending.model
		st.atPending++
	case rec.Intent != "" && rec.CommittedRows == durable.model.committed:
		m = durable.model // an intent made on exactly the committed rows, redone
		st.redone++
	default:
		return fmt.Errorf("opened with %d rows (%s); last sync %d, sync in flight %v", len(got), rec, durable.model.committed, pending != nil)
	}
	if err := checkFiles(tb); err != nil {
		return err
	}
	// What else a row changed since the Sync may hold, field by field.
	news := []smodel{cur}
	if inFly != nil {
		news = append(news, cur.apply(*inFly))
	}
	type elem struct {
		file string
		size int
	}
	elems := map[string]elem{}
	for _, c := range tb.Manifest().Columns {
		elems[c.Name] = elem{c.File, c.Layout.Size}
	}
	garbageIn := func(i int, col string) bool {
		e := elems[col]
		return losses[e.file].GarbageIn(4096+i*e.size, e.size)
	}
	// Only rows changed since the Sync may point past its extents.
	resets, mayReset := 0, 0
	if m.committed == durable.model.committed {
		for i := range touched {
			if i < m.committed {
				mayReset++
			}
		}
	}
	for i, r := range got {
		if r == m.mem[i] {
			continue
		}
		if ok, n := fieldsIn(r, m.cands(i), m.reset[i]); ok && n > 0 {
			// The writer's restart (Close, which checkpoints the last
			// Sync's extents) left a value written since that Sync
			// pointing past them: reset, as the model of 'B' allows,
			// by this image's recovery or already by the writer's own.
			mayReset++
			continue
		}
		if m.committed != durable.model.committed || !touched[i] {
			return fmt.Errorf("row %d of %d is %v (torn %v), the sync wrote %v (recovery: %s)", i, len(got), r, r.torn(), m.mem[i], rec)
		}
		st.touchedRows++
		old := m.mem[i]
		fields := []struct {
			col       string
			got, old  any
			new       func(v sval) any
			varLength bool
		}{
			{"ID", r.ID, old.ID, func(v sval) any { return v.ID }, false},
			{"N", r.N, old.N, func(v sval) any { return v.N }, false},
			{"URL", r.URL, old.URL, func(v sval) any { return v.URL }, true},
			{"Body", r.Body, old.Body, func(v sval) any { return v.Body }, true},
			{"Country", r.Country, old.Country, func(v sval) any { return v.Country }, true},
		}
		for _, f := range fields {
			isNew := false
			for _, n := range news {
				isNew = isNew || i < len(n.mem) && f.got == f.new(n.mem[i]) ||
					n.reset[i] && f.varLength && f.got == "" // the writer's own restart reset it
			}
			switch {
			case f.got == f.old:
				st.old++
			case isNew:
				st.new++
			case garbageIn(i, f.col):
				st.garbage++ // the element itself is garbage: it may point anywhere within the extent
			case f.varLength && f.got == "":
				st.reset++
				resets++
			default:
				return fmt.Errorf("row %d of %d, changed since the sync: %s is %v, neither as the sync wrote it (%v), as written since, nor empty; row %v (torn %v), the sync wrote %v (recovery: %s)",
					i, len(got), f.col, shortAny(f.got), shortAny(f.old), r, r.torn(), old, rec)
			}
		}
	}
	if resets > rec.ValuesReset || rec.ValuesReset > 3*mayReset {
		var empty []int
		for i, r := range got {
			if v := m.mem[i]; r.URL == "" && v.URL != "" || r.Body == "" && v.Body != "" || r.Country == "" && v.Country != "" {
				empty = append(empty, i)
			}
		}
		return fmt.Errorf("%d values read empty where the rows had others, and Recovery.ValuesReset is %d (%d rows changed since the sync: %v; rows with values read empty: %v) (recovery: %s)",
			resets, rec.ValuesReset, mayReset, slices.Sorted(maps.Keys(touched)), empty, rec)
	}
	if left := schemaPending(dir); len(left) > 0 {
		return fmt.Errorf("a compaction's files left after the open: %v (recovery: %s)", left, rec)
	}
	if err := tb.Append(mkSRow(1<<41, appendVer)); err != nil {
		return fmt.Errorf("append after recovery: %w", err)
	}
	if st.images%16 == 0 {
		if err := tb.Sync(); err != nil {
			return fmt.Errorf("sync after recovery: %w", err)
		}
	}
	return nil
}

// shortAny shows a field's value, a long one cut short.
func shortAny(v any) any {
	if s, ok := v.(string); ok && len(s) > 40 {
		return fmt.Sprintf("%q...(%d bytes)", s[:40], len(s))
	}
	return v
}

// syncing is what the Sync in flight commits: the rows, or at Close (a
// restart) the last Sync's, which its checkpoint makes the files'.
func syncing(m smodel, inFly *op) smodel {
	if inFly != nil && inFly.kind == 'B' {
		return m.apply(*inFly)
	}
	return m.apply(op{kind: 'Y'})
}
