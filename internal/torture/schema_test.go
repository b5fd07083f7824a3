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
	allowed  []outcome // the states an image may open in
	hashes   map[uint64]int
	births   []int
	rows     int // rows the writer holds
	step     int // the schema the writer opened (or is changing to)
	onDisk   int // the schema of the durable manifest
	finishes int // table.schema.finish points reached by the change
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
	want := counts{short: 60, race: 100, def: 400, long: 4000}.n()
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
	pl.births, pl.rows, pl.step, pl.onDisk = nil, 0, 0, 0
	crashpoint.SetHook(nil) // no images until the table exists
	tb, err := schemaChain[0].open(pl.dir, table.Options{})
	crashpoint.SetHook(pl.hook)
	if err != nil {
		t.Fatal(err)
	}
	pl.durable = readInoDir(t, pl.dir) // created aside, synced, renamed into place
	pl.allowed = []outcome{{0, 0}}
	for k := range schemaChain {
		if k > 0 {
			pl.step, pl.finishes = k, 0
			if tb, err = schemaChain[k].open(pl.dir, table.Options{}); err != nil {
				t.Fatalf("change to %s: %v", schemaChain[k].name, err)
			}
			if got := len(tb.Recovered().SchemaChanges); got != schemaChain[k].changes {
				t.Fatalf("change to %s: %d changes, want %d", schemaChain[k].name, got, schemaChain[k].changes)
			}
			if pl.finishes != schemaChain[k].finishes {
				t.Fatalf("change to %s: %d finish points, want %d", schemaChain[k].name, pl.finishes, schemaChain[k].finishes)
			}
			// Its last step removed the record and synced the directory.
			delete(pl.durable, "SCHEMA")
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
			}
		}
		if err := checkSchemaRows(tb, schemaChain[k], pl.births, pl.rows); err != nil {
			t.Fatalf("the writer's table of schema %s: %v", schemaChain[k].name, err)
		}
		if err := tb.Close(); err != nil {
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
		pl.durable = readInoDir(t, pl.dir)
		pl.allowed = append(pl.allowed, outcome{pl.onDisk, pl.rows})
	case "table.sync.done":
		pl.durable = readInoDir(t, pl.dir)
		pl.allowed = []outcome{{pl.onDisk, pl.rows}}
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
		pl.durable, durable = readInoDir(t, pl.dir), true
		pl.allowed = append(pl.allowed, outcome{pl.step, pl.rows})
	case "table.schema.switch":
		pl.durable, durable = readInoDir(t, pl.dir), true // the built files and COMMIT.next, and their entries
	case "table.schema.switched":
		pl.durable, durable = readInoDir(t, pl.dir), true
		pl.allowed, pl.onDisk = []outcome{{pl.step, pl.rows}}, pl.step
	case "table.schema.finish":
		pl.finishes++
		if pl.finishes == schemaChain[pl.step].finishes {
			pl.durable, durable = readInoDir(t, pl.dir), true // renames and removals synced
		}
	}
	if pl.images >= pl.want || !strings.HasPrefix(name, "table.schema.") && !durable && pl.rng.IntN(3) != 0 {
		return
	}
	pl.moment(name)
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
