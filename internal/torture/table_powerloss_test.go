// Power loss under a table: disk images of the whole directory drawn by
// internal/powerloss (in place, and copy-on-write), opened as after a
// reboot; and the cases past reviews found, each named for what it guards.

package torture_test

import (
	"cmp"
	"errors"
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
	"github.com/mmapvec/persistence/table"
)

type tableSynced struct {
	files  dirImage
	model  tableModel
	meta   []byte // what SyncMeta committed
	logged bool   // a record in the log, not a checkpoint
}

// TestTablePowerLoss is TestVecPowerLoss for a table: it keeps each file as
// its last fdatasync left it (a logged Sync flushes the log alone, a
// checkpoint every file); at random moments it builds images of every file
// from that content plus a random subset of the pages written since (a
// file created since may be missing; the record in flight in the log may be
// torn sector by sector), and opens each in a new boot. Each must open with
// the rows of the last completed Sync (or of the Sync in flight, once its
// record or commit slot is on disk, or with an intent made on exactly those
// rows redone), with Meta that Sync's. Rows changed in place since that
// Sync may be old or new per column (a documented caveat); every other row
// must be exact, rows changed through column slices before it included.
func TestTablePowerLoss(t *testing.T) {
	tablePowerLoss(t, powerloss.Model{Garbage: true, PowersafeOverwrite: true}, counts{short: 200, race: 200, def: 1000, long: 6000}.n())
}

// TestTablePowerLossCopyOnWrite is TestTablePowerLoss on a copy-on-write
// file system (btrfs): a file keeps only what its own last fdatasync made
// durable (or what a file-system transaction caught), so a Sync that wrote
// back a column and flushed the device through another file's fdatasync
// would lose that column's rows, committed or changed in place. Every image
// must still open at the last Sync (or the one in flight) with its rows.
func TestTablePowerLossCopyOnWrite(t *testing.T) {
	tablePowerLoss(t, powerloss.Model{CopyOnWrite: true}, counts{short: 120, race: 120, def: 500, long: 3000}.n())
}

// tablePowerLoss runs the power-loss test of a table with the images made
// under model. The durable content of a file is what its own last
// fdatasync left (reported by the fsutil sync hook), not what the directory
// held at the last Sync: a logged Sync flushes the log alone, and under
// [powerloss.Model.CopyOnWrite] a file that was only written back has lost
// what it wrote. Files never fdatasync'ed (the manifest, made durable by
// rename, and the JOURNAL) keep the last Sync's snapshot. It stops after
// want images, with every step of a checkpoint and of a logged Sync
// interrupted at least once.
func tablePowerLoss(t *testing.T, model powerloss.Model, want int) {
	track(t)
	s := seed(t)
	rng := newRand(s)
	const perMoment = 4
	dir := filepath.Join(t.TempDir(), "table")
	imgRoot := t.TempDir()
	bootid.Override("writer")
	defer bootid.Override("")
	tb, err := openTable(dir, false)
	// Under copy-on-write the table keeps the log it was made with, and its
	// open's first Sync is logged. Otherwise it loses it, as a table made
	// by an earlier version, Convert or Snapshot: its first Sync is a
	// checkpoint, and a logged Sync makes the log, a step the images cut
	// too.
	logAtBirth := model.CopyOnWrite
	if err == nil && !logAtBirth {
		err = errors.Join(tb.Close(), os.Remove(filepath.Join(dir, "WAL")))
		if err == nil {
			tb, err = openTable(dir, false)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	defer func() { tb.Close() }()
	var (
		m       = tableModel{boot: "writer"}
		durable = tableSynced{files: readDir(t, dir), model: m.clone()}
		pending *tableSynced
		touched = map[int]bool{}
		inFly   *op
		st      = walLoss{at: map[string]int{}, logAtBirth: logAtBirth}
		failed  error
		inCheck bool
		// nextMeta is the meta of the Sync in flight.
		nextMeta []byte
	)
	// fsynced holds each file of dir as its last fdatasync left it, by
	// name; the flushes run in parallel goroutines.
	var (
		syncMu  sync.Mutex
		fsynced = dirImage{}
		syncErr error
	)
	// A log made with the table was fdatasync'ed before the hook was set:
	// it starts as the directory holds it now.
	if b, err := os.ReadFile(filepath.Join(dir, "WAL")); err == nil {
		fsynced["WAL"] = b
	}
	fsutil.SetSyncHook(func(path string) {
		if filepath.Dir(path) != dir {
			return // a check's image
		}
		name, b, err := readSynced(path)
		syncMu.Lock()
		defer syncMu.Unlock()
		fsynced[name] = b
		syncErr = cmp.Or(syncErr, err)
	})
	defer fsutil.SetSyncHook(nil)
	var hook func(name string)
	barriers := 0 // column data barriers since table.sync.flush
	// done: want images, both outcomes seen, and a moment at every step of
	// both kinds of Sync. A short run can draw no image that opens at the
	// sync in flight (under copy-on-write only a transaction that caught
	// the COMMIT page shows it): it goes on, up to four times want, until
	// it has.
	done := func() bool {
		return st.images >= 4*want || st.images >= want && st.atPending > 0 && st.atDurable > 0 && st.walMissing() == ""
	}
	moment := func(at string) {
		if failed != nil || done() {
			return
		}
		inCheck = true
		defer func() { inCheck = false }()
		// The checks reach crash points themselves, and hooks do not nest:
		// unhook while they run.
		crashpoint.SetHook(nil)
		defer crashpoint.SetHook(hook)
		st.moments++
		st.at[at]++
		cached := readDir(t, dir)
		syncMu.Lock()
		if syncErr != nil {
			failed = fmt.Errorf("reading a file after its fdatasync: %w", syncErr)
		}
		synced := maps.Clone(fsynced)
		syncMu.Unlock()
		for range perMoment {
			if failed != nil {
				return
			}
			if err := checkTableImage(t, rng, model, m.boot, imgRoot, durable, pending, synced, cached, touched, m, inFly, &st); err != nil {
				failed = fmt.Errorf("power loss at %s (moment %d, seed %d): %w", at, st.moments, s, err)
				return
			}
		}
	}
	var hookMu sync.Mutex // columns flush in parallel goroutines, each reaching points
	hook = func(name string) {
		hookMu.Lock()
		defer hookMu.Unlock()
		if inCheck {
			return
		}
		fig.hook(name)
		// The model below takes every column as durable at
		// table.sync.commit: each must have been flushed (fdatasync) or
		// written back (then a device flush) since table.sync.flush.
		switch name {
		case "table.sync.flush":
			barriers = 0
		case "vec.flush", "vec.writeback.wait":
			barriers++
		}
		// What the Sync in flight commits: the rows, or at Close (a
		// restart) the last Sync's, which its checkpoint makes the files'.
		next, meta := m.apply(op{kind: 'Y'}), nextMeta
		if inFly != nil && inFly.kind == 'B' {
			next, meta = m.apply(*inFly), durable.meta
		}
		switch name {
		case "table.sync.commit": // data first: every column is durable
			if barriers != 5 {
				failed = fmt.Errorf("table.sync.commit reached after %d of 5 column barriers", barriers)
			}
			pending = &tableSynced{files: readDir(t, dir), model: next, meta: meta}
		case "table.sync.log.written": // the record may reach the disk from now on
			pending = &tableSynced{files: readDir(t, dir), model: next, meta: meta, logged: true}
		case "table.sync.done":
			durable, pending = tableSynced{files: readDir(t, dir), model: pending.model, meta: pending.meta, logged: pending.logged}, nil
			clear(touched)
		}
		// Column barriers run in parallel goroutines; a moment unhooks, and
		// would hide the others' points from the count above.
		if name == "vec.flush" || name == "vec.writeback.wait" {
			return
		}
		// The moments between the commit or record write and its
		// fdatasync are those that decide between two syncs: visit them
		// more often, and every step of a Sync at least once.
		if rng.IntN(8) == 0 || (name == "table.sync.commit.written" || name == "table.sync.log.written") && (rng.IntN(2) == 0 || st.atPending == 0) ||
			name == "table.sync.log.written" && st.tornLog == 0 ||
			slices.Contains(walSteps, name) && st.at[name] == 0 {
			moment(name)
		}
	}
	crashpoint.SetHook(hook)
	defer crashpoint.SetHook(nil)
	for step := 0; !done() && failed == nil; step++ {
		o := randomOp(rng, tb.Len(), m.nextID)
		if o.kind == 'A' && o.a > 64 {
			o.a = uint64(1 + rng.IntN(3000))
		}
		if o.kind == 'A' && tb.Len() > 30_000 {
			o = op{kind: 'T', a: uint64(rng.IntN(tb.Len()))}
		}
		// A reopen checkpoints at its first Sync and starts the log over,
		// past which the records of the last open stay: while no image
		// has shown such stale records, reopen more often.
		if rng.IntN(40) == 0 || st.staleLog == 0 && step%50 == 49 {
			o = op{kind: 'B', boot: fmt.Sprintf("writer-%d", step)}
		}
		// A SetRow made through the column slices instead: from then on
		// every Sync of this open flushes the columns too.
		viaSlices := viewedLogFixed && o.kind == 'S' && rng.IntN(12) == 0
		markTouched(touched, vecModel{n: m.n}, o, durable.model.committed)
		inFly = &o
		switch {
		case viaSlices:
			err = setRowViaSlices(tb, int(o.a), o.b)
			st.sliceWrites++
		case o.kind == 'Y' && rng.IntN(3) == 0:
			nextMeta = durable.meta // a plain Sync keeps the meta
			err = tb.Sync()
		case o.kind == 'Y':
			nextMeta = fmt.Appendf(nil, "step %d, %d rows", step, m.n)
			err = tb.SyncMeta(nextMeta)
		default:
			tb, err = runTableOp(tb, dir, o)
		}
		if err != nil {
			t.Fatalf("step %d %s: %v", step, o, err)
		}
		m.do(o)
		if o.kind == 'B' {
			if err := adoptReboot(tb, &m, durable.model, touched); err != nil {
				t.Fatalf("step %d %s: %v (recovery: %s)", step, o, err, tb.Recovered())
			}
		}
		inFly = nil
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
	t.Logf("%d power-loss images of a table%s from %d moments: %d opened at the last sync, %d at the sync in flight, %d with a redone intent; "+
		"%d rows changed in place since the sync differed, %d of them mixed across columns (documented); %s",
		st.images, kind, st.moments, st.atDurable, st.atPending, st.redone, st.touchedRows, st.tornRows, st.walFigures())
	if st.atDurable == 0 || st.atPending == 0 {
		t.Errorf("the images never opened at the sync in flight (%d) or at the last one (%d): the test missed a case", st.atPending, st.atDurable)
	}
	if miss := st.walMissing(); miss != "" {
		t.Errorf("the test missed a case of the log: %s", miss)
	}
	if len(fsynced) == 0 {
		t.Errorf("the sync hook saw no fdatasync of a file in %s: the images used the Syncs' snapshots", dir)
	}
}

// checkTableImage builds one image of the table's directory under model
// and checks what it opens with. fsynced holds the files as their last
// fdatasync left them, for [powerloss.Model.CopyOnWrite].
func checkTableImage(t *testing.T, rng *rand.Rand, model powerloss.Model, writerBoot, imgRoot string, durable tableSynced, pending *tableSynced,
	fsynced, cached dirImage, touched map[int]bool, cur tableModel, inFly *op, st *walLoss) error {
	base := durable
	if pending != nil {
		base = *pending
	}
	dir := filepath.Join(imgRoot, fmt.Sprint(st.images))
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var names []string
	for name := range cached {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		old, existed := base.files[name]
		if !existed && rng.IntN(2) == 0 {
			continue // created since the sync: its directory entry may be lost
		}
		if b, ok := fsynced[name]; ok {
			// Only this file's own fdatasync made its blocks durable.
			old = b
		}
		img, loss := powerloss.Image(rng, old, cached[name], model)
		if loss.Transaction {
			st.transactions++
		}
		if name == "WAL" {
			st.walImage(cached[name], img, loss, pending)
		}
		if err := writeImage(filepath.Join(dir, name), img); err != nil {
			return err
		}
	}
	st.images++
	bootid.Override(fmt.Sprintf("after-power-loss-%d", st.images))
	defer bootid.Override(writerBoot)
	tb, err := openTable(dir, false)
	if err != nil {
		return fmt.Errorf("image refused: %w", err)
	}
	defer tb.Close()
	rec := tb.Recovered()
	got, err := readRows(tb)
	if err != nil {
		return err
	}
	var m tableModel
	meta := durable.meta
	switch {
	case len(got) == durable.model.committed && rec.CommittedRows == durable.model.committed:
		m = durable.model
		st.atDurable++
	case pending != nil && rec.CommittedRows == pending.model.committed && len(got) == pending.model.committed:
		m, meta = pending.model, pending.meta
		st.atPending++
	case rec.Intent != "" && rec.CommittedRows == durable.model.committed:
		// An intent written on exactly the committed rows was redone.
		m = durable.model
		st.redone++
	default:
		return fmt.Errorf("opened with %d rows (%s); last sync %d, sync in flight %v", len(got), rec, durable.model.committed, pending != nil)
	}
	if err := checkFiles(tb); err != nil {
		return err
	}
	if rec.Replayed > 0 {
		st.replayed++
	}
	// A Sync with no new rows keeps the meta: an image at either Sync
	// opens with one of the two.
	if got := tb.Meta(); string(got) != string(meta) && (pending == nil || string(got) != string(pending.meta) || pending.model.committed != durable.model.committed) {
		return fmt.Errorf("Meta is %q, the sync wrote %q (recovery: %s)", got, meta, rec)
	}
	for i, r := range got {
		if r == m.mem[i] {
			continue
		}
		if m.committed == durable.model.committed && touched[i] {
			st.touchedRows++
			if r.torn() {
				st.tornRows++
			}
			continue
		}
		return fmt.Errorf("row %d of %d is %+v (torn %v), the sync wrote %+v (recovery: %s)", i, len(got), r, r.torn(), m.mem[i], rec)
	}
	if err := tb.Append(mkTRow(1<<41, valOf(1<<41))); err != nil {
		return fmt.Errorf("append after recovery: %w", err)
	}
	if st.images%16 == 0 {
		if err := tb.Sync(); err != nil {
			return fmt.Errorf("sync after recovery: %w", err)
		}
	}
	return nil
}

// TestTablePowerLossIntentPastCommitted: rows appended after the last Sync,
// then a SetRow on one of them, and the power goes with its intent on disk
// but not the column growth (the files as they were at the Sync). The
// intent is about rows the commit never had: Open must drop it and open
// with the committed rows, not fail because the columns are short. Guards
// a recovery bug the power-loss test found: Open failed on this image.
func TestTablePowerLossIntentPastCommitted(t *testing.T) {
	track(t)
	dir := filepath.Join(t.TempDir(), "table")
	bootid.Override("writer")
	defer bootid.Override("")
	tb, err := openTable(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	defer tb.Close()
	synced := readDir(t, dir)
	for i := range 13 {
		if err := tb.Append(mkTRow(uint64(i), valOf(uint64(i)))); err != nil {
			t.Fatal(err)
		}
	}
	var atCrash dirImage
	crashpoint.SetHook(func(name string) {
		if name == "table.setrow.applied" {
			atCrash = readDir(t, dir)
		}
	})
	err = tb.SetRow(5, mkTRow(5, 1))
	crashpoint.SetHook(nil)
	if err != nil || atCrash == nil {
		t.Fatalf("SetRow: %v (hook reached: %v)", err, atCrash != nil)
	}
	// The power goes: the JOURNAL page reached the disk, the columns'
	// growth did not.
	img := filepath.Join(t.TempDir(), "image")
	if err := os.Mkdir(img, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, b := range atCrash {
		if old, ok := synced[name]; ok && name != "JOURNAL" {
			b = old
		}
		if err := os.WriteFile(filepath.Join(img, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bootid.Override("after-power-loss")
	got, err := openTable(img, false)
	if err != nil {
		t.Fatalf("open after power loss: %v", err)
	}
	defer got.Close()
	if got.Len() != 0 {
		t.Fatalf("%d rows after power loss, the last Sync had 0 (recovery: %s)", got.Len(), got.Recovered())
	}
}

// TestTableSetRowAfterSyncThenReboot: a Sync returns, a row it committed
// is changed in place with SetRow, the table is closed, and the machine
// reboots cleanly (no crash at all). Every row of that Sync must be there;
// the one-flush commit's checksums cover rows that SetRow may change
// afterwards, and must not make Open roll back a Sync that returned.
// Guards a bug of the one-flush commit: a clean reboot lost that Sync.
func TestTableSetRowAfterSyncThenReboot(t *testing.T) {
	track(t)
	dir := filepath.Join(t.TempDir(), "table")
	bootid.Override("writer")
	defer bootid.Override("")
	tb, err := openTable(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	appendN := func(from, n int) {
		t.Helper()
		for i := from; i < from+n; i++ {
			if err := tb.Append(mkTRow(uint64(i), valOf(uint64(i)))); err != nil {
				t.Fatal(err)
			}
		}
		if err := tb.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	appendN(0, 100)  // the columns grew: data, then commit
	appendN(100, 50) // rows in durable blocks: the one-flush commit
	if err := tb.SetRow(120, mkTRow(120, 7)); err != nil {
		t.Fatal(err)
	}
	if err := tb.Close(); err != nil {
		t.Fatal(err)
	}
	bootid.Override("next-boot")
	got, err := openTable(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	if got.Len() != 150 {
		t.Fatalf("after a clean reboot the table has %d rows, the last Sync returned with 150 (recovery: %s)", got.Len(), got.Recovered())
	}
}

// adoptReboot takes the rows of the writer's table reopened in a new boot
// into m. The open applied the log's records again: a row changed in place
// since the last Sync is as that Sync left it if a record since the last
// checkpoint holds it, else as changed; every other row is m's.
func adoptReboot(tb *table.Table[trow], m *tableModel, synced tableModel, touched map[int]bool) error {
	for i := range m.n {
		r := tb.Row(i)
		switch {
		case r == m.mem[i]:
		case touched[i] && i < len(synced.mem) && r == synced.mem[i]:
			m.mem[i] = r
		default:
			return fmt.Errorf("reopened in a new boot, row %d is %+v (touched since the Sync: %v), want %+v", i, r, touched[i], m.mem[i])
		}
	}
	return nil
}
