// Power loss under a table: disk images of the whole directory drawn by
// internal/powerloss (in place, and copy-on-write), opened as after a
// reboot; and the cases past reviews found, each named for what it guards.

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

type tableSynced struct {
	files dirImage
	model tableModel
}

// TestTablePowerLoss is TestVecPowerLoss for a table: at every Sync it keeps
// the directory as the sync left it; at random moments it builds images of
// every file from the last synced content plus a random subset of the
// pages written since (a file created since may be missing), and opens
// each in a new boot. Each must open with the rows of the last completed
// Sync (or of the Sync in flight, once its commit slot is on disk, or with
// an intent made on exactly those rows redone). Rows changed in place since
// that Sync may be old or new per column (a documented caveat); every
// other row must be exact.
func TestTablePowerLoss(t *testing.T) {
	tablePowerLoss(t, powerloss.Model{Garbage: true, PowersafeOverwrite: true}, counts{short: 400, race: 500, def: 1000, long: 6000}.n())
}

// TestTablePowerLossCopyOnWrite is TestTablePowerLoss on a copy-on-write
// file system (btrfs): a file keeps only what its own last fdatasync made
// durable (or what a file-system transaction caught), so a Sync that wrote
// back a column and flushed the device through another file's fdatasync
// would lose that column's rows, committed or changed in place. Every image
// must still open at the last Sync (or the one in flight) with its rows.
func TestTablePowerLossCopyOnWrite(t *testing.T) {
	tablePowerLoss(t, powerloss.Model{CopyOnWrite: true}, counts{short: 200, race: 250, def: 500, long: 3000}.n())
}

// tablePowerLoss runs the power-loss test of a table with the images made
// under model. Under [powerloss.Model.CopyOnWrite] the durable content of a
// file is what its own last fdatasync left (reported by the fsutil sync
// hook), not what the directory held at the commit: a file that a Sync only
// wrote back has lost what it wrote. Files never fdatasync'ed (the manifest,
// made durable by rename, and the JOURNAL) keep the commit's snapshot. It
// stops after want images.
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
		st      powerLoss
		failed  error
		inCheck bool
	)
	// fsynced holds each file of dir as its last fdatasync left it, by
	// name; the flushes run in parallel goroutines.
	var (
		syncMu  sync.Mutex
		fsynced = dirImage{}
		syncErr error
	)
	if model.CopyOnWrite {
		fsutil.SetSyncHook(func(path string) {
			if filepath.Dir(path) != dir {
				return // a check's image
			}
			b, err := os.ReadFile(path)
			syncMu.Lock()
			defer syncMu.Unlock()
			fsynced[filepath.Base(path)] = b
			syncErr = cmp.Or(syncErr, err)
		})
		defer fsutil.SetSyncHook(nil)
	}
	var hook func(name string)
	barriers := 0 // column data barriers since table.sync.flush
	// done: want images, and both outcomes seen. A short run can draw no
	// image that opens at the sync in flight (under copy-on-write only a
	// transaction that caught the COMMIT page shows it): it goes on, up to
	// four times want, until it has.
	done := func() bool {
		return st.images >= 4*want || st.images >= want && st.atPending > 0 && st.atDurable > 0
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
		switch name {
		case "table.sync.commit": // data first: every column is durable
			if barriers != 5 {
				failed = fmt.Errorf("table.sync.commit reached after %d of 5 column barriers", barriers)
			}
			p := tableSynced{files: readDir(t, dir), model: m.apply(op{kind: 'Y'})}
			pending = &p
		case "table.sync.done":
			durable, pending = tableSynced{files: readDir(t, dir), model: pending.model}, nil
			clear(touched)
		}
		// Column barriers run in parallel goroutines; a moment unhooks, and
		// would hide the others' points from the count above.
		if name == "vec.flush" || name == "vec.writeback.wait" {
			return
		}
		// The moment between the commit write and its fdatasync is the one
		// that decides between two syncs: visit it more often.
		if rng.IntN(8) == 0 || (name == "table.sync.commit.written" && (rng.IntN(2) == 0 || st.atPending == 0)) {
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
		if rng.IntN(40) == 0 {
			o = op{kind: 'B', boot: fmt.Sprintf("writer-%d", step)}
		}
		markTouched(touched, vecModel{n: m.n}, o, durable.model.committed)
		inFly = &o
		if tb, err = runTableOp(tb, dir, o); err != nil {
			t.Fatalf("step %d %s: %v", step, o, err)
		}
		m.do(o)
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
		"%d rows changed in place since the sync differed, %d of them mixed across columns (documented)",
		st.images, kind, st.moments, st.atDurable, st.atPending, st.redone, st.touchedRows, st.tornRows)
	if st.atDurable == 0 || st.atPending == 0 {
		t.Errorf("the images never opened at the sync in flight (%d) or at the last one (%d): the test missed a case", st.atPending, st.atDurable)
	}
	if model.CopyOnWrite && len(fsynced) == 0 {
		t.Errorf("the sync hook saw no fdatasync of a file in %s: the copy-on-write images used the commit's snapshots", dir)
	}
}

// checkTableImage builds one image of the table's directory under model
// and checks what it opens with. fsynced holds the files as their last
// fdatasync left them, for [powerloss.Model.CopyOnWrite].
func checkTableImage(t *testing.T, rng *rand.Rand, model powerloss.Model, writerBoot, imgRoot string, durable tableSynced, pending *tableSynced,
	fsynced, cached dirImage, touched map[int]bool, cur tableModel, inFly *op, st *powerLoss) error {
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
		if b, ok := fsynced[name]; ok && model.CopyOnWrite {
			// Only this file's own fdatasync made its blocks durable.
			old = b
		}
		img, loss := powerloss.Image(rng, old, cached[name], model)
		if loss.Transaction {
			st.transactions++
		}
		if err := os.WriteFile(filepath.Join(dir, name), img, 0o644); err != nil {
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
	switch {
	case len(got) == durable.model.committed && rec.CommittedRows == durable.model.committed:
		m = durable.model
		st.atDurable++
	case pending != nil && rec.CommittedRows == pending.model.committed && len(got) == pending.model.committed:
		m = pending.model
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
