// Schema changes under the suite's faults: power-loss images of a table
// drawn while its schema changes (an add, a rename, widenings, a drop, and
// all of them at once, in a chain), and damaged manifests with a history,
// SCHEMA records and COMMIT.next files. One idea, a table's schema as
// something that changes on disk, with the row types of the chain and the
// checks shared by both.

package torture_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/mmapvec/persistence"
	"github.com/mmapvec/persistence/internal/bootid"
	"github.com/mmapvec/persistence/internal/crashpoint"
	"github.com/mmapvec/persistence/internal/powerloss"
	"github.com/mmapvec/persistence/table"
)

// sRow is the widest form of a row of every schema of the chain.
type sRow struct {
	ID, V uint64
	A     int64
	B     [6]uint16
	Sum   uint64
	Tag   [3]uint32
	Extra int16
}

// sWant is row i in its widest form, appended under the chain's schema
// born: the fields of later schemas are zero in rows appended before them.
func sWant(i uint64, born int) sRow {
	r := mkTRow(i, valOf(i))
	w := sRow{ID: r.ID, V: r.V, A: int64(r.A), Sum: r.Sum}
	copy(w.B[:], r.B[:])
	if born >= 1 {
		w.Tag = [3]uint32{uint32(i), uint32(i)*3 + 1, 0}
	}
	if born >= 3 {
		w.B[3], w.B[4], w.Tag[2] = uint16(i), uint16(i>>3), 7
	}
	if born >= 5 {
		w.B[5], w.Extra = 9, int16(i)
	}
	return w
}

// The chain's schemas after trow, each one change from the one before.
type (
	s1Add struct {
		trow
		Tag [2]uint32 `persist:"tag"`
	}
	s2Rename struct {
		ID  uint64
		Val uint64 `persist:"val,was=V"`
		A   int32
		B   [3]uint16
		Sum uint64
		Tag [2]uint32 `persist:"tag"`
	}
	s3Widen struct {
		ID  uint64
		Val uint64 `persist:"val"`
		A   int64
		B   [5]uint16
		Sum uint64
		Tag [3]uint32 `persist:"tag"`
	}
	s4Drop struct {
		ID  uint64
		Val uint64 `persist:"val"`
		A   int64
		B   [5]uint16
		Tag [3]uint32 `persist:"tag"`
	}
	// s5Combo adds extra, drops tag, and renames and widens B.
	s5Combo struct {
		ID    uint64
		Val   uint64 `persist:"val"`
		A     int64
		B6    [6]uint16 `persist:"b6,was=B"`
		Extra int16     `persist:"extra"`
	}
)

// sTable is a table of one of the chain's schemas, its rows in their
// widest form.
type sTable interface {
	Len() int
	read() ([]sRow, error)
	add(rows []sRow) error
	Sync() error
	Close() error
	Recovered() table.Recovery
	check() error
}

type sTyped[R comparable] struct {
	*table.Table[R]
	to   func(R) sRow
	from func(sRow) R
}

func (s sTyped[R]) read() ([]sRow, error) {
	rows := make([]R, s.Len())
	if _, err := s.ReadRows(rows, 0); err != nil {
		return nil, err
	}
	out := make([]sRow, len(rows))
	for i, r := range rows {
		out[i] = s.to(r)
	}
	return out, nil
}

func (s sTyped[R]) add(rows []sRow) error {
	rs := make([]R, len(rows))
	for i, r := range rows {
		rs[i] = s.from(r)
	}
	return s.AppendRows(rs)
}

func (s sTyped[R]) check() error { return checkFiles(s.Table) }

// sStep is one schema of the chain.
type sStep struct {
	name string
	drop bool // the change to it drops a column
	// changes counts the history entries of the change to it, and
	// finishes the table.schema.finish points it reaches.
	changes, finishes int
	open              func(dir string, o table.Options) (sTable, error)
	// project keeps what the schema stores of a row.
	project func(sRow) sRow
}

func mkStep[R comparable](name string, drop bool, changes, finishes int, to func(R) sRow, from func(sRow) R) sStep {
	return sStep{name: name, drop: drop, changes: changes, finishes: finishes,
		open: func(dir string, o table.Options) (sTable, error) {
			o.DropColumns = drop && !o.ReadOnly
			tb, err := table.Open[R](dir, &o)
			if err != nil {
				return nil, err
			}
			return sTyped[R]{tb, to, from}, nil
		},
		project: func(r sRow) sRow { return to(from(r)) },
	}
}

func b3(b [6]uint16) (o [3]uint16) { copy(o[:], b[:]); return }
func b5(b [6]uint16) (o [5]uint16) { copy(o[:], b[:]); return }
func w6(b []uint16) (o [6]uint16)  { copy(o[:], b); return }
func t2(t [3]uint32) [2]uint32     { return [2]uint32{t[0], t[1]} }

var schemaChain = []sStep{
	mkStep("create", false, 0, 0,
		func(r trow) sRow { return sRow{ID: r.ID, V: r.V, A: int64(r.A), B: w6(r.B[:]), Sum: r.Sum} },
		func(w sRow) trow { return trow{ID: w.ID, V: w.V, A: int32(w.A), B: b3(w.B), Sum: w.Sum} }),
	mkStep("add", false, 1, 2,
		func(r s1Add) sRow {
			return sRow{ID: r.ID, V: r.V, A: int64(r.A), B: w6(r.B[:]), Sum: r.Sum, Tag: [3]uint32{r.Tag[0], r.Tag[1]}}
		},
		func(w sRow) s1Add {
			return s1Add{trow{ID: w.ID, V: w.V, A: int32(w.A), B: b3(w.B), Sum: w.Sum}, t2(w.Tag)}
		}),
	mkStep("rename", false, 1, 3,
		func(r s2Rename) sRow {
			return sRow{ID: r.ID, V: r.Val, A: int64(r.A), B: w6(r.B[:]), Sum: r.Sum, Tag: [3]uint32{r.Tag[0], r.Tag[1]}}
		},
		func(w sRow) s2Rename {
			return s2Rename{ID: w.ID, Val: w.V, A: int32(w.A), B: b3(w.B), Sum: w.Sum, Tag: t2(w.Tag)}
		}),
	mkStep("widen", false, 3, 5,
		func(r s3Widen) sRow { return sRow{ID: r.ID, V: r.Val, A: r.A, B: w6(r.B[:]), Sum: r.Sum, Tag: r.Tag} },
		func(w sRow) s3Widen { return s3Widen{ID: w.ID, Val: w.V, A: w.A, B: b5(w.B), Sum: w.Sum, Tag: w.Tag} }),
	mkStep("drop", true, 1, 2,
		func(r s4Drop) sRow { return sRow{ID: r.ID, V: r.Val, A: r.A, B: w6(r.B[:]), Tag: r.Tag} },
		func(w sRow) s4Drop { return s4Drop{ID: w.ID, Val: w.V, A: w.A, B: b5(w.B), Tag: w.Tag} }),
	mkStep("combo", true, 4, 3,
		func(r s5Combo) sRow { return sRow{ID: r.ID, V: r.Val, A: r.A, B: r.B6, Extra: r.Extra} },
		func(w sRow) s5Combo { return s5Combo{ID: w.ID, Val: w.V, A: w.A, B6: w.B, Extra: w.Extra} }),
}

// sRows are rows [from, to) of the chain, appended under schema born.
func sRows(from, to uint64, born int) []sRow {
	out := make([]sRow, 0, to-from)
	for i := from; i < to; i++ {
		out = append(out, sWant(i, born))
	}
	return out
}

// checkSchemaRows checks that tb, of the chain's schema step, holds
// exactly n rows, row i the one appended under births[i] as step stores it.
func checkSchemaRows(tb sTable, step sStep, births []int, n int) error {
	if tb.Len() != n {
		return fmt.Errorf("%d rows, want %d (recovery: %s)", tb.Len(), n, tb.Recovered())
	}
	got, err := tb.read()
	if err != nil {
		return err
	}
	for i, r := range got {
		if want := step.project(sWant(uint64(i), births[i])); r != want {
			return fmt.Errorf("row %d is %+v, want %+v (recovery: %s)", i, r, want, tb.Recovered())
		}
	}
	return tb.check()
}

// schemaPending lists what a schema change in progress has in dir: its
// record, its COMMIT, and files built under a name of their own.
func schemaPending(dir string) []string {
	entries, _ := os.ReadDir(dir)
	var out []string
	for _, e := range entries {
		if n := e.Name(); n == "SCHEMA" || n == "COMMIT.next" || strings.HasSuffix(n, ".schema") {
			out = append(out, n)
		}
	}
	return out
}

// inoFile is a directory entry as a power-loss image needs it: the file
// it names (a rename moves a file; a replacement is another one) and its
// content.
type inoFile struct {
	ino  uint64
	data []byte
}

type inoDir map[string]inoFile

func readInoDir(t testing.TB, dir string) inoDir {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := inoDir{}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = inoFile{ino: fi.Sys().(*syscall.Stat_t).Ino, data: readFile(t, filepath.Join(dir, e.Name()))}
	}
	return out
}

// dirPowerLoss draws what a directory holds after a power cut, from what
// its last directory fsync made durable (durable: each name, its file, and
// that file's content at its last fsync) and what the page cache holds now:
// each file's pages as powerloss.Image draws them; a file created since
// may be missing; a file removed since may be there still; a rename is
// atomic: a file moved since has its old names or its new ones, and a
// file renamed over keeps its name only if the rename did not reach the
// disk.
func dirPowerLoss(rng *rand.Rand, durable, cached inoDir, model powerloss.Model) map[string][]byte {
	names := func(d inoDir) map[uint64][]string {
		out := map[uint64][]string{}
		for n, f := range d {
			out[f.ino] = append(out[f.ino], n)
		}
		for _, ns := range out {
			slices.Sort(ns)
		}
		return out
	}
	was, now := names(durable), names(cached)
	inos := func(m map[uint64][]string) []uint64 {
		out := make([]uint64, 0, len(m))
		for ino := range m {
			out = append(out, ino)
		}
		slices.Sort(out)
		return out
	}
	img := map[string][]byte{}
	claimed := map[string]bool{}
	type kept struct {
		names   []string
		content []byte
	}
	var stayed []kept // files moved since whose move did not reach the disk
	// Files of the page cache first: a name they take is theirs.
	for _, ino := range inos(now) {
		ns := now[ino]
		old, existed := was[ino]
		if !existed && rng.IntN(2) == 0 {
			continue // created since: its entry did not reach the disk
		}
		var base []byte
		if existed {
			base = durable[old[0]].data
		}
		content, _ := powerloss.Image(rng, base, cached[ns[0]].data, model)
		if existed && !slices.Equal(old, ns) && rng.IntN(2) == 0 {
			stayed = append(stayed, kept{old, content})
			continue
		}
		for _, n := range ns {
			img[n], claimed[n] = content, true
		}
	}
	for _, k := range stayed {
		for _, n := range k.names {
			if !claimed[n] {
				img[n], claimed[n] = k.content, true
			}
		}
	}
	// Files removed since, or renamed over.
	for _, ino := range inos(was) {
		if _, still := now[ino]; still {
			continue
		}
		for _, n := range was[ino] {
			_, held := cached[n]
			switch {
			case claimed[n]:
				// Renamed over, and the rename reached the disk.
			case held || rng.IntN(2) == 0:
				// Renamed over by a rename that did not reach the
				// disk, or removed by a removal that did not.
				img[n], claimed[n] = durable[n].data, true
			}
		}
	}
	return img
}

// outcome is a state an image may open in: the chain's schema and the
// committed row count.
type outcome struct{ schema, rows int }

// schemaPowerLoss is the state of TestTableSchemaPowerLoss's disk model.
type schemaPowerLoss struct {
	t        *testing.T
	rng      *rand.Rand
	model    powerloss.Model
	dir      string
	imgRoot  string
	durable  inoDir
	logging  bool       // the Sync in flight is logged
	pins     []*os.File // durable's files, kept open
	allowed  []outcome  // the states an image may open in
	hashes   map[uint64]int
	births   []int
	rows     int  // rows the writer holds
	synced   int  // rows of the writer's last Sync
	closing  bool // in Close, which checkpoints the last Sync's rows
	step     int  // the schema the writer opened (or is changing to)
	onDisk   int  // the schema of the durable manifest
	finishes int  // table.schema.finish points reached by the change
	hook     func(name string)
	failed   error

	want, perMoment                  int // images in all, and at each moment
	images, moments, old, new, again int
	// Images that held a change in progress: its record, files built
	// under a name of their own, its COMMIT.next.
	record, prepared, next int
	byOutcome              map[string]int
}

// TestTableSchemaPowerLoss runs a chain of schema changes on a table (an
// add, a rename, three widenings, a drop, then an add, a drop and a rename
// with a widening at once), each a writable open with the next record type,
// with rows appended and synced between them. At the crash points of each
// change it draws disk images from what the last fsync of each file and of
// the directory made durable and what the page cache held, and opens each
// as after a reboot: its manifest must be the old schema's, and the table
// then has the rows of its last Sync (of the change's own Sync, once
// that is on disk), the change rolled back; or the new schema's, and the
// table has every row the change began with, converted. An image of the
// old schema then changes to the new one with every row.
func TestTableSchemaPowerLoss(t *testing.T) {
	track(t)
	s := seed(t)
	want := counts{short: 60, race: 40, def: 400, long: 4000}.n()
	pl := &schemaPowerLoss{t: t, rng: newRand(s), model: powerloss.Model{Garbage: true, PowersafeOverwrite: true},
		want: want, perMoment: counts{short: 1, race: 1, def: 3, long: 3}.n(),
		imgRoot: t.TempDir(), hashes: map[uint64]int{}, byOutcome: map[string]int{}}
	bootid.Override("writer")
	defer bootid.Override("")
	var hookMu sync.Mutex // columns flush in parallel goroutines
	pl.hook = func(name string) {
		hookMu.Lock()
		defer hookMu.Unlock()
		pl.point(name)
	}
	crashpoint.SetHook(pl.hook)
	defer crashpoint.SetHook(nil)
	for chain := 0; pl.images < want && pl.failed == nil; chain++ {
		pl.runChain(chain)
	}
	for _, f := range pl.pins {
		f.Close()
	}
	if pl.failed != nil {
		t.Fatalf("seed %d: %v", s, pl.failed)
	}
	fig.add(&fig.images, pl.images)
	t.Logf("%d power-loss images of a table whose schema changes, from %d moments: %d opened with the old schema (the change rolled back), %d with the new one; %d rolled back changed again; "+
		"files of a change in progress: %d SCHEMA, %d built under a name of their own, %d COMMIT.next; by schema and rows: %v",
		pl.images, pl.moments, pl.old, pl.new, pl.again, pl.record, pl.prepared, pl.next, pl.byOutcome)
	if pl.old == 0 || pl.new == 0 {
		t.Errorf("no image opened with the old schema (%d) or none with the new one (%d): the test missed a case", pl.old, pl.new)
	}
}

// runChain makes a table and runs the chain of changes on it, appending
// and syncing rows between them.
func (pl *schemaPowerLoss) runChain(chain int) {
	t := pl.t
	pl.dir = filepath.Join(t.TempDir(), fmt.Sprintf("table-%d", chain))
	pl.births, pl.rows, pl.synced, pl.step, pl.onDisk = nil, 0, 0, 0, 0
	crashpoint.SetHook(nil) // no images until the table exists
	tb, err := schemaChain[0].open(pl.dir, table.Options{})
	crashpoint.SetHook(pl.hook)
	if err != nil {
		t.Fatal(err)
	}
	pl.setDurable() // created aside, synced, renamed into place
	pl.allowed = []outcome{{0, 0}}
	for k := range schemaChain {
		if k > 0 {
			pl.step, pl.finishes = k, 0
			if tb, err = schemaChain[k].open(pl.dir, table.Options{}); err != nil {
				t.Fatalf("change to %s: %v", schemaChain[k].name, err)
			}
			if pl.failed != nil {
				tb.Close()
				return
			}
			if got := len(tb.Recovered().SchemaChanges); got != schemaChain[k].changes {
				t.Fatalf("change to %s: %d changes, want %d", schemaChain[k].name, got, schemaChain[k].changes)
			}
			if pl.finishes != schemaChain[k].finishes {
				t.Fatalf("change to %s: %d finish points, want %d", schemaChain[k].name, pl.finishes, schemaChain[k].finishes)
			}
			// Its last step removed the record and synced the directory.
			delete(pl.durable, "SCHEMA")
			pl.synced = pl.rows // a change commits every row first
		}
		if pl.failed != nil {
			return
		}
		m, err := persistence.ReadManifest(pl.dir)
		if err != nil {
			t.Fatal(err)
		}
		pl.hashes[m.Hash()] = k
		// Rows appended under this schema, some of them synced; the
		// rest the next change must commit first.
		for range 2 {
			n := 1 + pl.rng.IntN(150)
			if err := tb.add(sRows(uint64(pl.rows), uint64(pl.rows+n), k)); err != nil {
				t.Fatal(err)
			}
			for range n {
				pl.births = append(pl.births, k)
			}
			pl.rows += n
			if pl.rng.IntN(2) == 0 {
				if err := tb.Sync(); err != nil {
					t.Fatal(err)
				}
				pl.synced = pl.rows
			}
		}
		if err := checkSchemaRows(tb, schemaChain[k], pl.births, pl.rows); err != nil {
			t.Fatalf("the writer's table of schema %s: %v", schemaChain[k].name, err)
		}
		// Close checkpoints the last Sync's rows if that Sync was logged,
		// not the rows appended since.
		pl.closing = true
		err = tb.Close()
		pl.closing = false
		if err != nil {
			t.Fatal(err)
		}
		if pl.failed != nil {
			return
		}
	}
}

// point is the crash point hook: it moves the model's durable state at the
// steps that make something durable, and draws images at some moments.
func (pl *schemaPowerLoss) point(name string) {
	if pl.failed != nil || strings.HasPrefix(name, "vec.") {
		return
	}
	fig.hook(name)
	t := pl.t
	durable := false
	switch name {
	case "table.sync.commit":
		// Every column flushed: the rows of the Sync in flight are on
		// disk, its commit may follow.
		pl.setDurable()
		pl.allowed = append(pl.allowed, outcome{pl.onDisk, pl.committing()})
	case "table.sync.log.written":
		// A logged Sync: its record may reach the disk from now on; the
		// column files are not flushed.
		pl.logging = true
		pl.allowed = append(pl.allowed, outcome{pl.onDisk, pl.rows})
	case "table.sync.done":
		if pl.logging {
			pl.durable["WAL"] = readInoDir(t, pl.dir)["WAL"] // flushed alone
		} else {
			pl.setDurable()
		}
		pl.logging = false
		pl.allowed = []outcome{{pl.onDisk, pl.committing()}}
	case "table.schema.record":
		// The record is durable (renamed, the directory synced); the
		// change may now switch the manifest to its target.
		rec := readFile(t, filepath.Join(pl.dir, "SCHEMA"))
		var r struct{ Target uint64 }
		if err := json.Unmarshal(rec, &r); err != nil {
			pl.failed = fmt.Errorf("SCHEMA: %v", err)
			return
		}
		pl.hashes[r.Target] = pl.step
		durable = pl.setDurable()
		pl.allowed = append(pl.allowed, outcome{pl.step, pl.rows})
	case "table.schema.switch":
		durable = pl.setDurable() // the built files and COMMIT.next, and their entries
	case "table.schema.switched":
		durable = pl.setDurable()
		pl.allowed, pl.onDisk = []outcome{{pl.step, pl.rows}}, pl.step
	case "table.schema.finish":
		pl.finishes++
		if pl.finishes == schemaChain[pl.step].finishes {
			durable = pl.setDurable() // renames and removals synced
		}
	}
	if pl.images >= pl.want || !strings.HasPrefix(name, "table.schema.") && !durable && pl.rng.IntN(3) != 0 {
		return
	}
	pl.moment(name)
}

// committing is the row count the commit in flight commits: the writer's
// rows, or in Close those of its last Sync.
func (pl *schemaPowerLoss) committing() int {
	if pl.closing {
		return pl.synced
	}
	return pl.rows
}

// setDurable takes the directory as it is for what the disk holds. Its
// files are kept open until the next call, so that no file made later
// gets the inode number of one removed since (the images tell a file
// moved from a file replaced by their inode numbers). It returns true.
func (pl *schemaPowerLoss) setDurable() bool {
	for _, f := range pl.pins {
		f.Close()
	}
	pl.pins = pl.pins[:0]
	pl.durable = readInoDir(pl.t, pl.dir)
	for name := range pl.durable {
		f, err := os.Open(filepath.Join(pl.dir, name))
		if err != nil {
			pl.t.Fatal(err)
		}
		pl.pins = append(pl.pins, f)
	}
	return true
}

// moment draws a few images and checks each.
func (pl *schemaPowerLoss) moment(at string) {
	// The checks reach crash points themselves, and hooks do not nest:
	// unhook while they run.
	crashpoint.SetHook(nil)
	defer crashpoint.SetHook(pl.hook)
	pl.moments++
	cached := readInoDir(pl.t, pl.dir)
	for range pl.perMoment {
		if err := pl.checkImage(cached); err != nil {
			pl.failed = fmt.Errorf("power loss at %s of the change to %s (moment %d, image %d): %w",
				at, schemaChain[pl.step].name, pl.moments, pl.images, err)
			return
		}
	}
}

func (pl *schemaPowerLoss) checkImage(cached inoDir) error {
	files := dirPowerLoss(pl.rng, pl.durable, cached, pl.model)
	dir := filepath.Join(pl.imgRoot, fmt.Sprint(pl.images))
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
	}
	pl.images++
	for name := range files {
		switch {
		case name == "SCHEMA":
			pl.record++
		case name == "COMMIT.next":
			pl.next++
		case strings.HasSuffix(name, ".schema"):
			pl.prepared++
		}
	}
	bootid.Override(fmt.Sprintf("after-power-loss-%d", pl.images))
	defer bootid.Override("writer")
	m, err := persistence.ReadManifest(dir)
	if err != nil {
		return fmt.Errorf("the manifest: %w", err)
	}
	k, ok := pl.hashes[m.Hash()]
	if !ok {
		return fmt.Errorf("the manifest is none of the chain's schemas (files %v)", slices.Sorted(maps.Keys(files)))
	}
	var rows []int
	for _, o := range pl.allowed {
		if o.schema == k {
			rows = append(rows, o.rows)
		}
	}
	if len(rows) == 0 {
		return fmt.Errorf("the manifest is schema %s's, but the image may only open in %v", schemaChain[k].name, pl.allowed)
	}
	step := schemaChain[k]
	tb, err := step.open(dir, table.Options{})
	if err != nil {
		return fmt.Errorf("open with schema %s: %w", step.name, err)
	}
	defer tb.Close()
	rec := tb.Recovered()
	var errs []error
	for _, n := range rows {
		if err := checkSchemaRows(tb, step, pl.births, n); err != nil {
			errs = append(errs, err)
			continue
		}
		errs = nil
		pl.byOutcome[fmt.Sprintf("%s/%d", step.name, n)]++
		break
	}
	if errs != nil {
		return fmt.Errorf("schema %s: %w", step.name, errors.Join(errs...))
	}
	if left := schemaPending(dir); len(left) > 0 || len(rec.ExtraFiles) > 0 {
		return fmt.Errorf("schema %s: left %v, extra files %v (recovery: %s)", step.name, left, rec.ExtraFiles, rec)
	}
	if k == pl.step {
		pl.new++
		return nil
	}
	pl.old++
	if pl.images%4 != 0 {
		return nil
	}
	// Rolled back: the change is made again, with every row.
	n := tb.Len()
	if err := tb.Close(); err != nil {
		return err
	}
	next := schemaChain[pl.step]
	again, err := next.open(dir, table.Options{})
	if err != nil {
		return fmt.Errorf("change to %s again: %w", next.name, err)
	}
	defer again.Close()
	pl.again++
	if err := checkSchemaRows(again, next, pl.births, n); err != nil {
		return fmt.Errorf("changed to %s again: %w", next.name, err)
	}
	return nil
}

// The history table of the schema matrix: made with the columns ID, V0,
// A, B, Sum and Old, then given tmp, then V0 renamed to V and Old and tmp
// dropped, so that it is a trow table whose manifest has three changes.
type (
	h0 struct {
		ID  uint64
		V0  uint64
		A   int32
		B   [3]uint16
		Sum uint64
		Old uint16
	}
	h1 struct {
		h0
		Tmp [2]uint8 `persist:"tmp"`
	}
	h2 struct {
		ID  uint64
		V   uint64 `persist:"V,was=V0"`
		A   int32
		B   [3]uint16
		Sum uint64
	}
	// hNext is the change the matrix interrupts: V renamed to val, A
	// widened, Sum dropped, plus added.
	hNext struct {
		ID   uint64
		Val  uint64 `persist:"val,was=V"`
		A    int64
		B    [3]uint16
		Plus int16 `persist:"plus"`
	}
)

var hNextStep = mkStep("next", true, 4, 4,
	func(r hNext) sRow { return sRow{ID: r.ID, V: r.Val, A: r.A, B: w6(r.B[:]), Extra: r.Plus} },
	func(w sRow) hNext { return hNext{ID: w.ID, Val: w.V, A: w.A, B: b3(w.B), Plus: w.Extra} })

// historyTables makes the history table (matrixRows rows of trow, synced),
// and copies of it with the change to hNext interrupted before its switch
// (at table.schema.commit: its files built) and after it (at
// table.schema.switched), as a kill there leaves them.
func historyTables(t *testing.T) map[string]string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "table")
	rows := make([]h0, matrixRows)
	for i := range rows {
		r := mkTRow(uint64(i), valOf(uint64(i)))
		rows[i] = h0{ID: r.ID, V0: r.V, A: r.A, B: r.B, Sum: r.Sum, Old: uint16(i)}
	}
	t0, err := table.Open[h0](dir, nil)
	if err == nil {
		err = errors.Join(t0.AppendRows(rows), t0.Close())
	}
	if err != nil {
		t.Fatal(err)
	}
	t1, err := table.Open[h1](dir, nil)
	if err == nil {
		err = t1.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	t2, err := table.Open[h2](dir, &table.Options{DropColumns: true})
	if err == nil {
		err = t2.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{"history": dir}
	work := copyDir(t, dir)
	crashpoint.SetHook(func(name string) {
		switch name {
		case "table.schema.commit":
			out["before"] = copyDir(t, work)
		case "table.schema.switched":
			out["after"] = copyDir(t, work)
		}
	})
	next, err := hNextStep.open(work, table.Options{})
	crashpoint.SetHook(nil)
	if err == nil {
		err = next.Close()
	}
	if err != nil || out["before"] == "" || out["after"] == "" {
		t.Fatalf("the change to hNext: %v (states %v)", err, slices.Sorted(maps.Keys(out)))
	}
	return out
}

// schemaCase is a damaged table of the schema matrix: the history table
// (base "history"), or the change to hNext interrupted before or after its
// switch ("before", "after").
type schemaCase struct {
	name   string
	base   string
	damage func(t *testing.T, dir, outside string)
	want   []error // acceptable sentinels; nil: opens with every row
	says   string  // what the error says
}

// readerOpens are the cases in which a read-only open, which never acts
// on a record, opens with every row whatever want says.
var readerOpens = map[string]bool{
	"SCHEMA of another change builds a live column": true,
	"SCHEMA of this change retires a live column":   true,
}

// TestTableSchemaCorruption damages the schema of a table whose manifest
// has a history: histories that disagree with the columns (a drop of a
// live column, an add of a missing one, a widen from the wrong layout, a
// rename cycle recorded inconsistently), column ids reused or past
// next_id, SCHEMA records that are garbage, name paths or files that do
// not exist, COMMIT.next files that are garbage, before and after a
// change's switch. Each open, read-only and writable, fails with a typed
// error that says what is wrong, or opens with every row; nothing panics,
// no file outside the directory changes, and no open removes a column file
// of the manifest.
func TestTableSchemaCorruption(t *testing.T) {
	track(t)
	bases := historyTables(t)
	cases := slices.Concat(historyCases(t, bases["history"]), schemaRecordCases())
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			dir, outside := filepath.Join(root, "table"), filepath.Join(root, "outside")
			if err := os.Rename(copyDir(t, bases[c.base]), dir); err != nil {
				t.Fatal(err)
			}
			mkdir(t, outside)
			copyFile(t, filepath.Join(dir, "ID.col"), filepath.Join(outside, "ID.col"))
			writeTo(t, outside, "precious", "not the table's\n")
			c.damage(t, dir, outside)
			before := treeSum(t, outside)
			var live []string
			if m, err := persistence.ReadManifest(dir); err == nil && c.base == "history" {
				for _, col := range m.Columns {
					live = append(live, col.File)
				}
			}
			for _, ro := range []bool{true, false} {
				runSchemaCase(t, c, dir, ro)
				if treeSum(t, outside) != before {
					t.Fatalf("read-only %v: a file outside the table directory changed", ro)
				}
				for _, f := range live {
					if _, err := os.Lstat(filepath.Join(dir, f)); err != nil {
						t.Fatalf("read-only %v: column file %s of the manifest is gone: %v", ro, f, err)
					}
				}
			}
		})
	}
	fig.add(&fig.cases, len(cases))
	t.Logf("%d damaged schemas (histories, SCHEMA records, COMMIT.next), each opened read-only and writable", len(cases))
}

func runSchemaCase(t *testing.T, c schemaCase, dir string, ro bool) {
	t.Helper()
	step := schemaChain[0]
	if c.base == "after" {
		step = hNextStep
	}
	if ro && readerOpens[c.name] {
		c.want = nil
	}
	tb, err := step.open(dir, table.Options{ReadOnly: ro})
	if err != nil {
		typed := ro && c.base == "after" && errors.Is(err, table.ErrNeedsRecovery) // a prepared file to rename
		for _, w := range c.want {
			typed = typed || errors.Is(err, w)
		}
		if !typed {
			t.Fatalf("read-only %v: error %q (%T) matches none of %v", ro, err, err, c.want)
		}
		if !strings.Contains(err.Error(), c.says) && !errors.Is(err, table.ErrNeedsRecovery) {
			t.Fatalf("read-only %v: error %q does not say %q", ro, err, c.says)
		}
		t.Logf("read-only %v: %v", ro, err)
		return
	}
	defer tb.Close()
	if c.want != nil {
		t.Fatalf("read-only %v: opened (%d rows, %s), want an error matching %v", ro, tb.Len(), tb.Recovered(), c.want)
	}
	if err := checkSchemaRows(tb, step, make([]int, matrixRows), matrixRows); err != nil {
		t.Fatalf("read-only %v: %v", ro, err)
	}
	t.Logf("read-only %v: opened: %s", ro, tb.Recovered())
	if !ro {
		if left := schemaPending(dir); len(left) > 0 {
			t.Fatalf("a writable open left %v", left)
		}
		if err := tb.add(sRows(matrixRows, matrixRows+1, 0)); err != nil {
			t.Fatalf("append: %v", err)
		}
		if err := tb.Sync(); err != nil {
			t.Fatalf("sync: %v", err)
		}
	}
}

// editHistory edits the manifest as JSON and, if the result is a valid
// manifest, seals a COMMIT of matrixRows rows with its hash, so that the
// open gets past the commit's check on the manifest.
func editHistory(t *testing.T, dir string, edit func(m map[string]any)) {
	t.Helper()
	editManifest(t, dir, edit)
	b := readFile(t, filepath.Join(dir, "manifest.json"))
	m, err := persistence.ParseManifest("manifest.json", b)
	if err != nil {
		return
	}
	ls := make([]uint64, len(m.Columns))
	for i := range ls {
		ls[i] = matrixRows
	}
	seq := commitSeq(t, dir)
	writeTo(t, dir, "COMMIT", string(append(encodeCommit(0, seq+1, matrixRows, m.Hash(), ls), encodeCommit(1, seq, matrixRows, m.Hash(), ls)...)))
}

// historyOf returns the manifest's history entries and columns, and the
// change number after the last.
func historyOf(m map[string]any) (hist []any, cols []any, next float64) {
	hist, cols = m["history"].([]any), m["columns"].([]any)
	return hist, cols, hist[len(hist)-1].(map[string]any)["change"].(float64) + 1
}

// layoutOf is the layout of the manifest's column name, as JSON.
func layoutOf(m map[string]any, name string) any {
	for _, c := range m["columns"].([]any) {
		if c := c.(map[string]any); c["name"] == name {
			return c["layout"]
		}
	}
	panic("no column " + name)
}

// historyCases damage the manifest's history and column ids.
func historyCases(t *testing.T, dir string) []schemaCase {
	manifest := []error{persistence.ErrManifest}
	when := "2026-01-02T03:04:05Z"
	add := func(entries ...map[string]any) func(t *testing.T, d, _ string) {
		return func(t *testing.T, d, _ string) {
			editHistory(t, d, func(m map[string]any) {
				hist, _, next := historyOf(m)
				for _, e := range entries {
					e = maps.Clone(e)
					if e["change"] == nil {
						e["change"] = next
					}
					e["time"] = when
					if l, ok := e["layout"].(string); ok {
						e["layout"] = layoutOf(m, l)
					}
					if l, ok := e["old_layout"].(string); ok {
						e["old_layout"] = layoutOf(m, l)
					}
					hist = append(hist, e)
				}
				m["history"] = hist
			})
		}
	}
	edit := func(fn func(m map[string]any)) func(t *testing.T, d, _ string) {
		return func(t *testing.T, d, _ string) { editHistory(t, d, fn) }
	}
	col := func(m map[string]any, i int) map[string]any { return m["columns"].([]any)[i].(map[string]any) }
	entry := func(m map[string]any, i int) map[string]any { return m["history"].([]any)[i].(map[string]any) }
	// The history as made: change 1 creates ids 1-6 (entries 0-5),
	// change 2 adds tmp (id 7, entry 6), change 3 renames V0 (id 2) to V
	// and drops Old (id 6) and tmp (id 7).
	m, err := persistence.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.History) != 10 || m.NextID != 8 || m.History[6].Op != "add" || m.History[7].Op != "rename" {
		t.Fatalf("the history table's history is not as the cases expect: next id %d, %+v", m.NextID, m.History)
	}
	return []schemaCase{
		{"history drops a live column", "history", add(map[string]any{"op": "drop", "id": 3, "name": "A"}), manifest, "history"},
		{"history adds a column the manifest lacks", "history", func(t *testing.T, d, o string) {
			add(map[string]any{"op": "add", "id": 8, "name": "ghost", "layout": "A"})(t, d, o)
			editHistory(t, d, func(m map[string]any) { m["next_id"] = 9 })
		}, manifest, "leaves 6 columns"},
		{"history widens from the wrong layout", "history",
			add(map[string]any{"op": "widen", "id": 3, "name": "A", "old_layout": "B", "layout": "A"}), manifest, "of the layout it widens"},
		{"history widens a column the manifest has narrower", "history",
			add(map[string]any{"op": "widen", "id": 3, "name": "A", "old_layout": "A", "layout": "Sum"}), manifest, "does not leave column"},
		{"two columns with one id", "history", edit(func(m map[string]any) { col(m, 1)["id"] = 1 }), manifest, "same id 1"},
		{"an add of an id given before", "history",
			add(map[string]any{"op": "add", "id": 6, "name": "Old", "layout": "A"}), manifest, "id 6 was given before"},
		{"a column id at next_id", "history", edit(func(m map[string]any) { m["next_id"] = 5 }), manifest, "the next id to give is 5"},
		{"a history id past next_id", "history", edit(func(m map[string]any) { entry(m, 6)["id"] = 9 }), manifest, "id 9, but the next id to give is 8"},
		{"a column without an id", "history", edit(func(m map[string]any) { delete(col(m, 2), "id") }), manifest, "4 of 5 columns have an id"},
		{"a history but no ids", "history", edit(func(m map[string]any) {
			for i := range 5 {
				delete(col(m, i), "id")
			}
			delete(m, "next_id")
		}), manifest, "a history, but columns without ids"},
		{"a history entry without an id", "history", edit(func(m map[string]any) { delete(entry(m, 8), "id") }), manifest, "no column id"},
		{"a rename cycle recorded, the columns not renamed", "history", add(
			map[string]any{"op": "rename", "id": 2, "old_name": "V", "name": "A"},
			map[string]any{"op": "rename", "id": 3, "old_name": "A", "name": "V"}), manifest, "does not leave column"},
		{"a rename cycle recorded in two changes", "history", func(t *testing.T, d, o string) {
			add(map[string]any{"op": "rename", "id": 2, "old_name": "V", "name": "A"})(t, d, o)
			add(map[string]any{"op": "rename", "id": 3, "old_name": "A", "name": "V"})(t, d, o)
		}, manifest, `two columns named "A"`},
		{"a rename from a name the column does not have", "history",
			add(map[string]any{"op": "rename", "id": 2, "old_name": "V0", "name": "W"}), manifest, `no column "V0" with id 2 to rename`},
		{"a drop of a name the id does not have", "history", edit(func(m map[string]any) { entry(m, 8)["name"] = "Sum" }), manifest, `no column "Sum" with id 6 to drop`},
		{"changes out of order", "history", edit(func(m map[string]any) { entry(m, 7)["change"] = 1 }), manifest, "change 1 after change 2"},
		{"an unknown operation", "history", edit(func(m map[string]any) { entry(m, 6)["op"] = "shrink" }), manifest, "unknown operation"},
		{"an add without a layout", "history", edit(func(m map[string]any) { delete(entry(m, 6), "layout") }), manifest, "no layout"},
		{"a hostile layout in the history", "history", edit(func(m map[string]any) {
			entry(m, 6)["layout"].(map[string]any)["size"] = 1 << 40
		}), manifest, "element size"},
		{"a migration to its own data version", "history", add(map[string]any{"op": "migrate", "from": 3, "to": 3}), manifest, "to itself"},
		{"a history that starts with an add", "history", edit(func(m map[string]any) { m["history"] = m["history"].([]any)[6:] }), manifest, "history"},
		// Sound edits: the table opens with every row.
		{"a rename there and back", "history", func(t *testing.T, d, o string) {
			add(map[string]any{"op": "rename", "id": 2, "old_name": "V", "name": "W"})(t, d, o)
			add(map[string]any{"op": "rename", "id": 2, "old_name": "W", "name": "V"})(t, d, o)
		}, nil, ""},
		{"a history time edited", "history", edit(func(m map[string]any) { entry(m, 7)["time"] = when }), nil, ""},
	}
}

// schemaRecordCases damage a schema change's record and files.
func schemaRecordCases() []schemaCase {
	corrupt := []error{table.ErrCorrupt}
	record := func(s string) func(t *testing.T, d, _ string) {
		return func(t *testing.T, d, _ string) { writeTo(t, d, "SCHEMA", s) }
	}
	// recordOf writes a SCHEMA record whose target is the manifest's hash
	// (a change that switched), or another (one that did not).
	recordOf := func(switched bool, lists string) func(t *testing.T, d, _ string) {
		return func(t *testing.T, d, _ string) {
			m, err := persistence.ReadManifest(d)
			if err != nil {
				t.Fatal(err)
			}
			target := m.Hash()
			if !switched {
				target ^= 1
			}
			writeTo(t, d, "SCHEMA", fmt.Sprintf(`{"target": %d, %s}`, target, lists))
		}
	}
	replace := func(name string, make func(t *testing.T, path string)) func(t *testing.T, d, _ string) {
		return func(t *testing.T, d, _ string) {
			_ = os.Remove(filepath.Join(d, name))
			make(t, filepath.Join(d, name))
		}
	}
	garbage := func(name string) func(t *testing.T, d, _ string) {
		return func(t *testing.T, d, _ string) { writeTo(t, d, name, "\x00\xffgarbage{{{"+strings.Repeat("\xa5", 600)) }
	}
	remove := func(name string) func(t *testing.T, d, _ string) {
		return func(t *testing.T, d, _ string) { rm(t, d, name) }
	}
	return []schemaCase{
		{"SCHEMA garbage", "history", garbage("SCHEMA"), corrupt, "SCHEMA"},
		{"SCHEMA empty", "history", record(""), corrupt, "SCHEMA"},
		{"SCHEMA of the wrong types", "history", record(`{"target": "x", "built": 5}`), corrupt, "SCHEMA"},
		{"SCHEMA of 2 MiB", "history", record(`{"target": 1, "built": [` + strings.Repeat(`"a.col",`, 1<<18) + `"a.col"]}`), corrupt, "SCHEMA"},
		{"SCHEMA is a FIFO", "history", replace("SCHEMA", mkFIFO), corrupt, "FIFO"},
		{"SCHEMA is a symlink to /dev/zero", "history", replace("SCHEMA", linkDevZero), corrupt, "symlink"},
		{"SCHEMA builds ../outside/ID.col", "history", recordOf(false, `"built": ["../outside/ID.col"]`), corrupt, "not a column file name"},
		{"SCHEMA retires an absolute path", "history", func(t *testing.T, d, o string) {
			recordOf(true, `"retired": [`+strconvQuote(filepath.Join(o, "ID.col"))+`]`)(t, d, o)
		}, corrupt, "not a column file name"},
		{"SCHEMA prepares a hidden file", "history", recordOf(true, `"prepared": [".x.col"]`), corrupt, "not a column file name"},
		{"SCHEMA names a file that is not a column's", "history", recordOf(false, `"built": ["manifest.json"]`), corrupt, "not a column file name"},
		{"SCHEMA of another change names files that do not exist", "history",
			recordOf(false, `"built": ["nope.col"], "prepared": ["ghost.col"], "retired": ["gone.col"]`), nil, ""},
		{"SCHEMA of this change names files that do not exist", "history",
			recordOf(true, `"built": ["nope.col"], "prepared": ["ghost.col"], "retired": ["gone.col"]`), nil, ""},
		{"SCHEMA of another change builds a live column", "history", recordOf(false, `"built": ["A.col"], "prepared": ["V.col"]`),
			corrupt, `"A.col" is named as built`},
		{"SCHEMA of this change retires a live column", "history", recordOf(true, `"retired": ["A.col", "Sum.col"]`),
			corrupt, `"A.col" is named as retired`},
		{"SCHEMA of this change prepares a live column from a symlink outside", "history", func(t *testing.T, d, o string) {
			recordOf(true, `"prepared": ["A.col"]`)(t, d, o)
			if err := os.Symlink(filepath.Join(o, "ID.col"), filepath.Join(d, "A.col.schema")); err != nil {
				t.Fatal(err)
			}
		}, []error{table.ErrCorrupt, table.ErrNeedsRecovery}, "A.col.schema"},
		{"before the switch: COMMIT.next garbage", "before", garbage("COMMIT.next"), nil, ""},
		{"before the switch: COMMIT.next gone", "before", remove("COMMIT.next"), nil, ""},
		{"before the switch: a built file gone", "before", remove("plus.col"), nil, ""},
		{"before the switch: a built file garbage", "before", garbage("plus.col"), nil, ""},
		{"before the switch: a prepared file garbage", "before", garbage("A.col.schema"), nil, ""},
		{"before the switch: SCHEMA garbage", "before", garbage("SCHEMA"), corrupt, "SCHEMA"},
		{"after the switch: COMMIT.next garbage", "after", garbage("COMMIT.next"), corrupt, "COMMIT"},
		{"after the switch: COMMIT.next gone", "after", remove("COMMIT.next"), corrupt, "COMMIT"},
		{"after the switch: a prepared file gone", "after", remove("A.col.schema"), []error{table.ErrCorrupt, table.ErrElemType}, "A.col"},
		{"after the switch: a prepared file garbage", "after", garbage("val.col.schema"), corrupt, "val.col"},
		{"after the switch: SCHEMA garbage", "after", garbage("SCHEMA"), corrupt, "SCHEMA"},
	}
}

func strconvQuote(s string) string { b, _ := json.Marshal(s); return string(b) }
