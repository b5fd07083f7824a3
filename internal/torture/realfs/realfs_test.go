package realfs_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mmapvec/persistence/internal/bootid"
	"github.com/mmapvec/persistence/internal/crashpoint"
	"github.com/mmapvec/persistence/table"
)

// rec is the table's row: three fixed-size columns, a string and a
// symbol, each value distinct per row, column and version (the symbol per
// version), and never zero or empty, so that a row whose columns come from
// different writes (or from blocks that never reached the disk) shows.
type rec struct {
	A, B, C int64
	U       string
	S       table.Symbol
}

// version returns row i as written by the gen'th write to it.
func version(i, gen int) rec {
	base := int64(i)<<20 | int64(gen)<<4
	return rec{A: base | 1, B: base | 2, C: base | 3,
		U: fmt.Sprintf("row %d, write %d%s", i, gen, strings.Repeat("+", (i*7+gen)%50)),
		S: table.Symbol(fmt.Sprintf("gen-%d", gen%9))}
}

// cut is one copy of the image, taken the instant a Sync returned, and the
// rows that Sync committed.
type cut struct {
	image string
	what  string // the batch the Sync committed
	dir   string // the table in the image: "table", or a snapshot of it
	rows  []rec
	meta  string // the table's Meta, as the last SyncMeta committed it
}

// Sizes of the workload. prefill rows are appended, synced and truncated
// away first, so that later appends land in blocks a full flush already
// made durable: a Sync that trusts such blocks without fsyncing each file
// (the cheap path that lost rows on btrfs) is taken without any growth.
const (
	prefill = 4096
	rounds  = 7
	growBy  = 5000 // past prefill: the files grow
)

// TestRealFS runs the Sync-then-cut test on ext4, XFS and btrfs, each in
// its own loop-mounted image: every image copied the instant a Sync
// returned must open, after a reboot, with exactly that Sync's rows.
func TestRealFS(t *testing.T) {
	eachFileSystem(t, func(t *testing.T, fs fileSystem) {
		start := time.Now()
		ok, total, logged := syncThenCut(t, fs)
		t.Logf("realfs: %s: %d of %d Sync-then-cut images opened at their Sync, %d of them cut after a logged Sync or an AppendSync group (%v)",
			fs.name, ok, total, logged, time.Since(start).Round(time.Millisecond))
		if logged == 0 {
			t.Errorf("realfs: %s: no image was cut after a logged Sync: the test missed the log", fs.name)
		}
		if ok != total {
			t.Errorf("realfs: %s: %d of %d images lost rows a returned Sync had committed", fs.name, total-ok, total)
		}
	})
}

// syncThenCut makes fs in an image, runs the workload on it with a copy of
// the image after each Sync, and then opens every copy as after a reboot.
// It returns how many copies held exactly their Sync's rows, of how many.
func syncThenCut(t *testing.T, fs fileSystem) (ok, total, logged int) {
	work := t.TempDir() // removed after the unmounts, which are registered later
	image := filepath.Join(work, "image")
	if err := makeImage(fs, image); err != nil {
		t.Fatalf("realfs: %s: %v", fs.name, err)
	}
	mnt := filepath.Join(work, "mnt")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	m, err := mountImage(t, image, mnt, "")
	if errors.Is(err, errUnavailable) {
		t.Skipf("realfs: %s: skipped: %v", fs.name, err)
	}
	if err != nil {
		t.Fatal(err)
	}

	cuts := workload(t, fs, filepath.Join(mnt, "table"), image, work)
	for _, c := range cuts {
		if strings.Contains(c.what, "[logged]") {
			logged++
		}
	}
	// The copies are opened once the original is gone: no second mounted
	// file system with the same UUID (XFS and btrfs refuse or special-case
	// one), and one loop device at a time.
	if err := m.unmount(); err != nil {
		t.Fatal(err)
	}

	// A new boot: the live lengths in the column headers are not trusted,
	// only what the COMMIT record says.
	bootid.Override("realfs-after-power-cut")
	defer bootid.Override("")
	for i, c := range cuts {
		if err := checkCut(t, fs, c, filepath.Join(work, fmt.Sprintf("mnt-%d", i))); err != nil {
			t.Errorf("realfs: %s: image %d of %d, cut after %s: %v", fs.name, i+1, len(cuts), c.what, err)
		} else {
			ok++
		}
		// The copies are the size of what the file system wrote; drop
		// each once checked.
		os.Remove(c.image)
	}
	return ok, len(cuts), logged
}

// workload commits batches of 1, 10 and 100 rows, with rows changed in
// place and a truncation among them, and copies the image the instant each
// Sync returns. It returns the copies with the rows each Sync committed.
func workload(t *testing.T, fs fileSystem, dir, image, work string) []cut {
	tb, err := table.Open[rec](dir, nil)
	if err != nil {
		t.Fatalf("realfs: %s: open: %v", fs.name, err)
	}
	t.Cleanup(func() { tb.Close() }) // before the unmount, registered earlier
	var (
		want []rec           // the rows as the writer sees them
		gen  = map[int]int{} // writes to each row index so far
		cuts []cut
		meta string // as the last SyncMeta committed it
		// Logged Syncs and checkpoints, counted at their first step.
		logs, checkpoints atomic.Int64
	)
	crashpoint.SetHook(func(name string) {
		switch name {
		case "table.sync.log":
			logs.Add(1)
		case "table.sync.flush":
			checkpoints.Add(1)
		}
	})
	t.Cleanup(func() { crashpoint.SetHook(nil) })
	put := func(i int) rec {
		gen[i]++
		return version(i, gen[i])
	}
	appendRows := func(n int) {
		rs := make([]rec, n)
		for j := range rs {
			rs[j] = put(len(want) + j)
		}
		var err error
		if n == 1 {
			err = tb.Append(rs[0])
		} else {
			err = tb.AppendRows(rs)
		}
		if err != nil {
			t.Fatalf("realfs: %s: append %d rows: %v", fs.name, n, err)
		}
		want = append(want, rs...)
	}
	setRow := func(i int) {
		r := put(i)
		if err := tb.SetRow(i, r); err != nil {
			t.Fatalf("realfs: %s: SetRow(%d): %v", fs.name, i, err)
		}
		want[i] = r
	}
	truncate := func(n int) {
		if err := tb.Truncate(n); err != nil {
			t.Fatalf("realfs: %s: Truncate(%d): %v", fs.name, n, err)
		}
		want = want[:n]
	}
	cutNow := func(what string) {
		// The power goes now: nothing more reaches the device than what
		// it was handed before Sync returned.
		c := cut{image: filepath.Join(work, fmt.Sprintf("cut-%02d", len(cuts))), what: what, dir: "table", rows: slices.Clone(want), meta: meta}
		if err := copyImage(image, c.image); err != nil {
			t.Fatalf("realfs: %s: %v", fs.name, err)
		}
		cuts = append(cuts, c)
	}
	// kind says how the commit since l logs and c checkpoints went.
	kind := func(l, c int64) string {
		switch {
		case checkpoints.Load() > c:
			return " [checkpoint]"
		case logs.Load() > l:
			return " [logged]"
		}
		return " [no commit]"
	}
	syncAndCut := func(what string) {
		l, c := logs.Load(), checkpoints.Load()
		// Every third Sync carries meta, which the cut must open with.
		var err error
		if len(cuts)%3 == 2 {
			next := fmt.Sprintf("cut %d", len(cuts))
			if err = tb.SyncMeta([]byte(next)); err == nil {
				meta = next
			}
		} else {
			err = tb.Sync()
		}
		if err != nil {
			t.Fatalf("realfs: %s: Sync after %s: %v", fs.name, what, err)
		}
		cutNow(what + kind(l, c))
	}
	// groupAndCut appends rows from many goroutines with AppendSync and
	// cuts the image once every call returned: each row is durable then.
	groupAndCut := func(writers, each int) {
		l, c := logs.Load(), checkpoints.Load()
		n := len(want)
		sent := map[rec]bool{}
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		for g := range writers {
			rs := make([]rec, each)
			for k := range rs {
				rs[k] = version(n+g*each+k, 1<<9) // a version no other write makes
				sent[rs[k]] = true
			}
			wg.Go(func() {
				for _, r := range rs {
					if err := tb.AppendSync(r); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("realfs: %s: AppendSync: %v", fs.name, err)
		}
		// The calls' rows in the order the table took them.
		for i := n; i < tb.Len(); i++ {
			r := tb.Row(i)
			if !sent[r] {
				t.Fatalf("realfs: %s: row %d after AppendSync is %+v, which no call appended", fs.name, i, r)
			}
			delete(sent, r)
			want = append(want, r)
		}
		if len(sent) > 0 {
			t.Fatalf("realfs: %s: %d rows of returned AppendSync calls are not in the table", fs.name, len(sent))
		}
		cutNow(fmt.Sprintf("%d goroutines appending %d rows each with AppendSync, no Sync after it%s", writers, each, kind(l, c)))
	}
	// A snapshot, on the same file system (where btrfs and XFS share its
	// blocks with the table's), is committed once Snapshot returns: the
	// image is cut then, with the table's own rows never synced.
	snapshotAndCut := func(what string, from *table.Table[rec]) {
		name := fmt.Sprintf("snap-%02d", len(cuts))
		if err := from.Snapshot(filepath.Join(filepath.Dir(dir), name)); err != nil {
			t.Fatalf("realfs: %s: Snapshot after %s: %v", fs.name, what, err)
		}
		t.Logf("realfs: %s: snapshot %s: %s", fs.name, name, sharedBlocks(filepath.Join(filepath.Dir(dir), name, "A.col")))
		c := cut{image: filepath.Join(work, fmt.Sprintf("cut-%02d", len(cuts))), what: what + ", then a Snapshot", dir: name, rows: slices.Clone(want)}
		if err := copyImage(image, c.image); err != nil {
			t.Fatalf("realfs: %s: %v", fs.name, err)
		}
		cuts = append(cuts, c)
	}

	appendRows(prefill)
	syncAndCut(fmt.Sprintf("appending %d rows (every column grows)", prefill))
	truncate(0)
	syncAndCut("truncating to 0 rows (the files keep their blocks)")
	for r := range rounds {
		for _, k := range []int{1, 10, 100} {
			what := fmt.Sprintf("round %d: appending %d rows", r, k)
			if n := len(want); n > 0 {
				// In-place changes: the first committed row, and one that
				// moves through the table from round to round.
				setRow(0)
				setRow((r*37 + k) % n)
				what += ", SetRow of 2"
			}
			if r == 3 && k == 10 {
				truncate(len(want) - 3)
				what += ", Truncate by 3"
			}
			appendRows(k)
			syncAndCut(what + " (no growth)")
		}
	}
	appendRows(growBy)
	syncAndCut(fmt.Sprintf("appending %d rows (every column grows)", growBy))
	groupAndCut(8, 25)
	// Writes through a column slice: the next Sync (a checkpoint, the
	// first after a writable view) and every later one make them durable.
	col, err := table.Column[int64](tb, "A")
	if err != nil {
		t.Fatalf("realfs: %s: %v", fs.name, err)
	}
	for j, i := range []int{0, 7, len(want) - 1} {
		v := want[i].A ^ int64(j+1)<<40
		col.Slice()[i], want[i].A = v, v
	}
	syncAndCut("writing 3 rows of column A through its slice")
	col.Slice()[3] ^= 1 << 41
	want[3].A ^= 1 << 41
	appendRows(10)
	syncAndCut("writing a row of column A through its slice, appending 10 rows")
	groupAndCut(8, 5)
	for i := range 50 {
		setRow(i * 3) // garbage in the string heap
	}
	if err := tb.Compact(); err != nil {
		t.Fatalf("realfs: %s: Compact: %v", fs.name, err)
	}
	// Compact syncs, rewrites and cuts files: durable when it returns.
	cutNow("SetRow of 50 and a Compact (files rewritten and cut), no Sync after it")
	appendRows(10)
	syncAndCut("appending 10 rows after the Compact")
	setRow(1)
	appendRows(100)
	snapshotAndCut("SetRow of 1 and appending 100 rows, unsynced", tb)
	reader, err := table.Open[rec](dir, &table.Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("realfs: %s: a reader beside the writer: %v", fs.name, err)
	}
	appendRows(10)
	if err := reader.Refresh(); err != nil {
		t.Fatalf("realfs: %s: Refresh: %v", fs.name, err)
	}
	snapshotAndCut("appending 10 rows, unsynced, seen by a reader", reader)
	if err := reader.Close(); err != nil {
		t.Fatalf("realfs: %s: close the reader: %v", fs.name, err)
	}
	if err := tb.Close(); err != nil {
		t.Fatalf("realfs: %s: close: %v", fs.name, err)
	}
	return cuts
}

// checkCut mounts a copy on its own loop device (the file system replays
// its journal or log) and checks that the table in it opens with exactly
// the rows of the Sync after which the copy was taken.
func checkCut(t *testing.T, fs fileSystem, c cut, mnt string) error {
	if err := os.Mkdir(mnt, 0o755); err != nil {
		return err
	}
	m, err := mountImage(t, c.image, mnt, fs.copyOpts)
	if err != nil {
		return fmt.Errorf("the copy does not mount: %w", err)
	}
	defer func() {
		if err := m.unmount(); err != nil {
			t.Error(err)
		}
	}()
	// The check of the image as the cut left it: recovery to do (a log
	// past files whose growth never reached the disk) is no damage.
	rep, err := table.Check(filepath.Join(mnt, c.dir))
	if err != nil {
		return fmt.Errorf("check before the open: %w", err)
	}
	for _, p := range rep.Problems {
		if !errors.Is(p, table.ErrNeedsRecovery) {
			return fmt.Errorf("check before the open: %w", p)
		}
	}
	tb, err := table.Open[rec](filepath.Join(mnt, c.dir), nil)
	if err != nil {
		return fmt.Errorf("open %s: %w", c.dir, err)
	}
	defer tb.Close()
	rec := tb.Recovered()
	if got := string(tb.Meta()); c.dir == "table" && got != c.meta {
		return fmt.Errorf("opened with Meta %q, the last SyncMeta committed %q (recovery: %s)", got, c.meta, rec)
	}
	if tb.Len() != len(c.rows) {
		return fmt.Errorf("opened with %d rows, the Sync committed %d (recovery: %s)", tb.Len(), len(c.rows), rec)
	}
	// Every file's own lengths agree with the table's (the library check;
	// a torn COMMIT slot, which the next Sync rewrites, is no damage).
	rep, err = tb.Check()
	if err != nil {
		return fmt.Errorf("check: %w (recovery: %s)", err, rec)
	}
	for _, p := range rep.Problems {
		if !errors.Is(p, table.ErrNeedsRecovery) {
			return fmt.Errorf("check: %w (recovery: %s)", p, rec)
		}
	}
	var bad []string
	lost := 0
	for i, w := range c.rows {
		if got := tb.Row(i); got != w {
			lost++
			if len(bad) < 4 {
				bad = append(bad, fmt.Sprintf("row %d is %+v, want %+v", i, got, w))
			}
		}
	}
	if lost > 0 {
		return fmt.Errorf("%d of %d rows differ from what the Sync committed: %v (recovery: %s)", lost, len(c.rows), bad, rec)
	}
	// The recovered table takes writes and commits again.
	if err := tb.Append(version(len(c.rows), 1<<10)); err != nil {
		return fmt.Errorf("append after recovery: %w", err)
	}
	if err := tb.Sync(); err != nil {
		return fmt.Errorf("sync after recovery: %w", err)
	}
	return nil
}

// sharedBlocks says whether a file's extents are shared with another file
// (a reflink), as filefrag reports them, for the log.
func sharedBlocks(path string) string {
	out, err := exec.Command("filefrag", "-v", path).CombinedOutput()
	switch {
	case err != nil:
		return "extents unknown (filefrag: " + strings.TrimSpace(string(out)) + ")"
	case strings.Contains(string(out), "shared"):
		return "its blocks are shared with the table's (a reflink)"
	}
	return "its blocks were copied"
}
