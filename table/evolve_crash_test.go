package table_test

// Schema changes that stop part way, and schema changes beside readers in
// other processes. One idea, what a change leaves behind for the next
// open (a kill at each of its steps and at each step of the open that
// resumes it) and for the readers beside it, kept in one file because the
// row types, the cases and the checks of the new and old schema are shared.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence/internal/bootid"
	"github.com/mmapvec/persistence/internal/crashpoint"
	"github.com/mmapvec/persistence/internal/testproc"
	"github.com/mmapvec/persistence/table"
)

// ecOld is the schema before each change.
type ecOld struct {
	ID  uint32
	N   int16
	F   float32
	Arr [2]uint8
}

// The template table holds ecRows rows, the first ecSynced of them synced:
// a change commits the rest before it starts.
const ecRows, ecSynced = 4000, 3000

func ecRow(i int) ecOld {
	return ecOld{ID: uint32(i), N: int16(i - ecRows/2), F: float32(i) / 8, Arr: [2]uint8{uint8(i), uint8(i>>8) | 0x80}}
}

// The record types after each change.
type (
	ecAdd struct {
		ecOld
		Extra [3]uint32 `persist:"extra"`
	}
	ecDrop struct {
		ID uint32
		N  int16
		F  float32
	}
	ecRename struct {
		ID    uint32
		N     int16
		Ratio float32 `persist:"ratio,was=F"`
		Arr   [2]uint8
	}
	ecWiden struct {
		ID  uint32
		N   int64
		F   float32
		Arr [4]uint8
	}
	// ecCombo adds, drops, renames and widens in one change.
	ecCombo struct {
		ID    uint32
		N     int64
		Ratio float64   `persist:"ratio,was=F"`
		Extra [3]uint32 `persist:"extra"`
	}
)

// ecCase is one schema change from ecOld.
type ecCase struct {
	name string
	drop bool // needs Options.DropColumns
	// builds and prepared count the files the change builds, and those of
	// them built under a name of their own (renamed at the finish).
	builds, prepared int
	files            []string // the column files after the change
	rewrites         bool     // drops, renames or widens: readers must be gone
	// open opens dir with the new type and closes it.
	open func(dir string, o *table.Options) error
	// verify opens dir with the new type and checks every row.
	verify func(t *testing.T, dir string, o *table.Options) (table.Recovery, error)
	// sample is the point the race detector's runs kill it at.
	sample ecPoint
	// follow is ecFollow with the new type.
	follow func(dir string, o *table.Options, until int) error
}

// mkCase makes the case of a change to R, whose row i is conv(i, ecRow(i)).
func mkCase[R comparable](name string, drop bool, builds, prepared int, sample ecPoint, conv func(int, ecOld) R, files ...string) ecCase {
	c := ecCase{name: name, drop: drop, builds: builds, prepared: prepared, sample: sample, files: files, rewrites: name != "add"}
	c.open = func(dir string, o *table.Options) error {
		tb, err := table.Open[R](dir, c.opts(o))
		if err != nil {
			return err
		}
		return tb.Close()
	}
	c.verify = func(t *testing.T, dir string, o *table.Options) (table.Recovery, error) {
		t.Helper()
		return ecVerify(t, dir, c.opts(o), func(i int) R { return conv(i, ecRow(i)) })
	}
	c.follow = func(dir string, o *table.Options, until int) error {
		return ecFollow(dir, o, until, func(i int) R { return conv(i, ecRow(i)) })
	}
	return c
}

// opts adds DropColumns to o for a change that drops.
func (c ecCase) opts(o *table.Options) *table.Options {
	var out table.Options
	if o != nil {
		out = *o
	}
	out.DropColumns = out.DropColumns || (c.drop && !out.ReadOnly)
	return &out
}

// ecExtra is the added column's value in row i: zero in the rows the table
// had, set in those appended after the change.
func ecExtra(i int) [3]uint32 {
	if i < ecRows {
		return [3]uint32{}
	}
	return [3]uint32{uint32(i), 7, 9}
}

var ecCases = []ecCase{
	mkCase("add", false, 1, 0, ecPoint{"table.schema.commit", 1}, func(i int, r ecOld) ecAdd { return ecAdd{ecOld: r, Extra: ecExtra(i)} },
		"ID.col", "N.col", "F.col", "Arr.col", "extra.col"),
	mkCase("drop", true, 0, 0, ecPoint{"table.schema.switched", 1}, func(_ int, r ecOld) ecDrop { return ecDrop{ID: r.ID, N: r.N, F: r.F} }, "ID.col", "N.col", "F.col"),
	mkCase("rename", false, 1, 1, ecPoint{"table.schema.build", 1}, func(_ int, r ecOld) ecRename { return ecRename{ID: r.ID, N: r.N, Ratio: r.F, Arr: r.Arr} },
		"ID.col", "N.col", "ratio.col", "Arr.col"),
	mkCase("widen", false, 2, 2, ecPoint{"table.schema.finish", 1}, func(_ int, r ecOld) ecWiden {
		return ecWiden{ID: r.ID, N: int64(r.N), F: r.F, Arr: [4]uint8{r.Arr[0], r.Arr[1]}}
	}, "ID.col", "N.col", "F.col", "Arr.col"),
	mkCase("combo", true, 3, 2, ecPoint{}, func(i int, r ecOld) ecCombo {
		return ecCombo{ID: r.ID, N: int64(r.N), Ratio: float64(r.F), Extra: ecExtra(i)}
	}, "ID.col", "N.col", "ratio.col", "extra.col"),
}

func ecCaseNamed(name string) ecCase {
	for _, c := range ecCases {
		if c.name == name {
			return c
		}
	}
	panic("no schema change case " + name)
}

// ecVerify opens dir with R and checks it: ecRows rows, row i want(i),
// every column as long as the table, and the library's check finds no
// damage.
func ecVerify[R comparable](t *testing.T, dir string, o *table.Options, want func(int) R) (table.Recovery, error) {
	t.Helper()
	tb, err := table.Open[R](dir, o)
	if err != nil {
		return table.Recovery{}, err
	}
	defer tb.Close()
	rec := tb.Recovered()
	require.Equal(t, ecRows, tb.Len(), "rows (recovery: %s)", rec)
	checkConsistent(t, tb)
	for i, r := range rowsOf(t, tb) {
		if r != want(i) {
			t.Fatalf("row %d is %+v, want %+v (recovery: %s)", i, r, want(i), rec)
		}
	}
	rep, err := tb.Check()
	require.NoError(t, err)
	for _, p := range rep.Problems {
		require.ErrorIs(t, p, table.ErrNeedsRecovery, "check: %s", rep)
	}
	return rec, nil
}

func ecVerifyOld(t *testing.T, dir string, o *table.Options) (table.Recovery, error) {
	t.Helper()
	return ecVerify(t, dir, o, ecRow)
}

// ecTemplate makes the table every run starts from, closed.
func ecTemplate(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "t")
	tb, err := table.Open[ecOld](dir, nil)
	require.NoError(t, err)
	for i := range ecRows {
		require.NoError(t, tb.Append(ecRow(i)))
		if i == ecSynced-1 {
			require.NoError(t, tb.Sync())
		}
	}
	require.NoError(t, tb.Close())
	return dir
}

// names lists dir's entries, sorted.
func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// pending lists what a schema change in progress has in dir: its record,
// its COMMIT, and files built under a name of their own.
func pending(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for _, n := range names(t, dir) {
		if n == "SCHEMA" || n == "COMMIT.next" || strings.HasSuffix(n, ".schema") {
			out = append(out, n)
		}
	}
	return out
}

// tableFiles is what a closed table of the given column files holds: the
// template's files that are not columns, and those.
func tableFiles(t *testing.T, template string, cols []string) []string {
	t.Helper()
	var out []string
	for _, n := range names(t, template) {
		if !strings.HasSuffix(n, ".col") {
			out = append(out, n)
		}
	}
	out = append(out, cols...)
	slices.Sort(out)
	return out
}

// ecChild opens the table with a case's new type, as a writer: the work
// of the crash tests' children, killed at a crash point.
func ecChild() {
	c := ecCaseNamed(os.Getenv("PERSIST_TEST_CASE"))
	if err := c.open(os.Getenv("PERSIST_TEST_DIR"), nil); err != nil {
		testproc.Say("error %v", err)
		os.Exit(1)
	}
	testproc.Say("evolved")
	os.Exit(0)
}

// ecPoint is the k-th time (1-based) a run reached the crash point name.
type ecPoint struct {
	name string
	k    int
}

func (p ecPoint) String() string { return fmt.Sprintf("%s#%d", p.name, p.k) }

// schemaPoints returns the schema change's crash points among those a run
// reached, each numbered by its occurrence.
func schemaPoints(points []string) []ecPoint {
	var out []ecPoint
	seen := map[string]int{}
	for _, p := range points {
		if strings.HasPrefix(p, "table.schema.") {
			seen[p]++
			out = append(out, ecPoint{p, seen[p]})
		}
	}
	return out
}

// runChild runs the evolving child on dir, killed at point (none: to the
// end), and returns the crash points it reached.
func runChild(t *testing.T, c ecCase, dir string, at *ecPoint) []string {
	t.Helper()
	log := filepath.Join(t.TempDir(), "points")
	env := []string{"PERSIST_TEST_DIR=" + dir, "PERSIST_TEST_CASE=" + c.name, "PERSIST_CRASH_LOG=" + log}
	if at != nil {
		env = append(env, "PERSIST_CRASH_NAME="+at.name, fmt.Sprintf("PERSIST_CRASH_AT=%d", at.k))
	}
	child := testproc.Start(t, "TestEvolveCrash", "evolve", env...)
	code := child.Wait()
	if at == nil {
		require.Equal(t, 0, code, "child: %q\n%s", child.Lines(), child.Stderr())
	} else {
		require.True(t, child.Killed(), "child not killed at %s: exit %d, %q\n%s", at, code, child.Lines(), child.Stderr())
	}
	return testproc.CrashLog(t, log)
}

// TestEvolveCrash kills a writable open that changes the schema (add,
// drop, rename, widen, and all four at once) at each of the change's crash
// points, each occurrence of a repeated one too. After each kill:
//
//   - read-only opens with the old and the new type write nothing and see
//     every row of one schema, exactly, or fail with ErrSchema, or with
//     ErrNeedsRecovery while a file built under a name of its own is not
//     yet renamed; before the switch the old type opens, after it the new
//     one (or ErrNeedsRecovery);
//   - killed before the switch, a writable open with the old type rolls
//     the change back: the old schema, every row, no record, no new COMMIT,
//     no built file left;
//   - a writable open with the new type has the new schema and every row
//     (rolled back and made again, or finished), in this boot and after a
//     reboot;
//   - the open that resumes the change is killed too, at each of its own
//     schema points, and the next open still ends with every row.
//
// Under the race detector and -short, each single change is killed at one
// point (two of them before the switch, two after), the combined change at
// every point, and one resumption: each kill costs a few changes' fsyncs.
func TestEvolveCrash(t *testing.T) {
	if testproc.Role() == "evolve" {
		ecChild()
	}
	template := ecTemplate(t)
	full := !raceEnabled && !testing.Short()
	runs, kills := 0, 0
	for _, c := range ecCases {
		t.Run(c.name, func(t *testing.T) {
			// A run to the end names the points, and checks the change.
			dir := copyTable(t, template)
			points := schemaPoints(runChild(t, c, dir, nil))
			runs++
			want := []string{"table.schema.record"}
			for range c.builds {
				want = append(want, "table.schema.build")
			}
			want = append(want, "table.schema.commit", "table.schema.switch", "table.schema.switched")
			for range c.prepared + 2 {
				want = append(want, "table.schema.finish")
			}
			var got []string
			for _, p := range points {
				got = append(got, p.name)
			}
			require.Equal(t, want, got, "the change's steps")
			require.Empty(t, pending(t, dir))
			require.Equal(t, tableFiles(t, template, c.files), names(t, dir))
			rec, err := c.verify(t, dir, nil)
			require.NoError(t, err)
			require.Empty(t, rec.SchemaChanges, "done in the child")

			every := full || c.name == "combo"
			require.True(t, every || slices.Contains(points, c.sample), "the change never reaches %s", c.sample)
			for i, at := range points {
				last := i == len(points)-1 || points[i+1].name != at.name
				if !every && at != c.sample {
					continue
				}
				resume := killAndReopen(t, c, template, at, last)
				runs++
				kills++
				// The open that resumes the change, killed: after the
				// switch, at each step of the finish (the first only
				// under the race detector); before it, at the record and
				// the switch of the change made again.
				var again []ecPoint
				switch {
				case at == ecPoint{"table.schema.switched", 1}:
					for k := range c.prepared + 2 {
						if full || k == 0 {
							again = append(again, ecPoint{"table.schema.finish", k + 1})
						}
					}
				case at == ecPoint{"table.schema.commit", 1} && full:
					again = []ecPoint{{"table.schema.record", 1}, {"table.schema.switched", 1}}
				}
				for _, rat := range again {
					killResumption(t, c, template, resume, at, rat)
					runs++
					kills++
				}
			}
		})
	}
	t.Logf("%d child runs, %d of them killed at a schema change's crash point", runs, kills)
}

// killAndReopen runs the change of c on a copy of template, killed at at,
// and checks what it left; last says at is the last occurrence of its
// point. It returns a copy of the killed table, for its resumption.
func killAndReopen(t *testing.T, c ecCase, template string, at ecPoint, last bool) string {
	t.Helper()
	switched := at.name == "table.schema.switched" || at.name == "table.schema.finish"
	what := fmt.Sprintf("%s killed at %s", c.name, at)
	dir := copyTable(t, template)
	runChild(t, c, dir, &at)
	require.Contains(t, pending(t, dir), "SCHEMA", "%s: the record stays until the end", what)
	checkReadOnlyAfterKill(t, c, dir, switched, what)
	reboot, resume := copyTable(t, dir), copyTable(t, dir)

	if !switched {
		rec, err := ecVerifyOld(t, dir, nil)
		require.NoError(t, err, what)
		require.Equal(t, "rolled back an interrupted schema change", rec.SchemaResumed, what)
		require.Empty(t, rec.SchemaChanges, what)
		require.Empty(t, pending(t, dir), what)
		require.Equal(t, tableFiles(t, template, []string{"ID.col", "N.col", "F.col", "Arr.col"}), names(t, dir),
			"%s: rolled back, only the old files", what)
	}
	rec, err := c.verify(t, dir, nil)
	require.NoError(t, err, what)
	if switched {
		require.Equal(t, "finished an interrupted schema change", rec.SchemaResumed, what)
		require.Empty(t, rec.SchemaChanges, "%s: finished, not made again", what)
	} else {
		require.NotEmpty(t, rec.SchemaChanges, "%s: made again", what)
	}
	require.Empty(t, pending(t, dir), what)
	require.Equal(t, tableFiles(t, template, c.files), names(t, dir), what)

	// The power went right after the kill (at the first and the last
	// step of each kind): every row was synced before the change began.
	if at.k == 1 || last {
		bootid.Override("after-the-kill")
		rec, err = c.verify(t, reboot, nil)
		bootid.Override("")
		require.NoError(t, err, "%s, then a reboot", what)
		require.NotEmpty(t, rec.SchemaResumed, what)
	}
	return resume
}

// killResumption runs the open that resumes the change of c in a copy of
// resume (a table killed at at), kills it at rat, and checks the next
// open.
func killResumption(t *testing.T, c ecCase, template, resume string, at, rat ecPoint) {
	t.Helper()
	what := fmt.Sprintf("%s killed at %s, then its resumption at %s", c.name, at, rat)
	d := copyTable(t, resume)
	runChild(t, c, d, &rat)
	switched := at.name != "table.schema.commit" || rat.name == "table.schema.switched" || rat.name == "table.schema.finish"
	checkReadOnlyAfterKill(t, c, d, switched, what)
	rec, err := c.verify(t, d, nil)
	require.NoError(t, err, what)
	require.NotEmpty(t, rec.SchemaResumed, what)
	require.Empty(t, pending(t, d), what)
	require.Equal(t, tableFiles(t, template, c.files), names(t, d), what)
}

// checkReadOnlyAfterKill opens dir read-only with the old and the new type
// after a change was killed (after its switch, or before) and checks what
// each sees; neither may write a byte.
func checkReadOnlyAfterKill(t *testing.T, c ecCase, dir string, switched bool, what string) {
	t.Helper()
	before := snapshot(t, dir)
	ro := &table.Options{ReadOnly: true}
	_, oldErr := ecVerifyOld(t, dir, ro)
	_, newErr := c.verify(t, dir, ro)
	require.Equal(t, before, snapshot(t, dir), "%s: a read-only open wrote", what)
	for _, err := range []error{oldErr, newErr} {
		if err != nil && !errors.Is(err, table.ErrSchema) && !errors.Is(err, table.ErrNeedsRecovery) {
			t.Fatalf("%s: read-only open: %v", what, err)
		}
	}
	if !switched {
		require.NoError(t, oldErr, "%s: before the switch, the old schema reads", what)
		return
	}
	if errors.Is(newErr, table.ErrNeedsRecovery) {
		require.True(t, slices.ContainsFunc(pending(t, dir), func(n string) bool { return strings.HasSuffix(n, ".schema") }),
			"%s: ErrNeedsRecovery, but every file has its name: %v", what, newErr)
		return
	}
	require.NoError(t, newErr, "%s: after the switch, the new schema reads", what)
}

// ecReaderChild is a reader in its own process: it opens the table with
// the old type (or the new one of PERSIST_TEST_CASE, with
// PERSIST_TEST_NEW), checks every row, and says so; then it follows the
// writer with Refresh, checking each row it is shown, until it has seen
// PERSIST_TEST_UNTIL rows.
func ecReaderChild() {
	dir := os.Getenv("PERSIST_TEST_DIR")
	var until int
	fmt.Sscan(os.Getenv("PERSIST_TEST_UNTIL"), &until)
	o := &table.Options{ReadOnly: true, LockTimeout: 100 * time.Millisecond}
	var err error
	if os.Getenv("PERSIST_TEST_NEW") != "" {
		err = ecCaseNamed(os.Getenv("PERSIST_TEST_CASE")).follow(dir, o, until)
	} else {
		err = ecFollow(dir, o, until, ecRow)
	}
	if err != nil {
		// The kind first, for the parent, which sees only the text.
		kind := "other"
		for _, k := range []struct {
			name string
			err  error
		}{{"locked", table.ErrLocked}, {"schema", table.ErrSchema}, {"recovery", table.ErrNeedsRecovery}} {
			if errors.Is(err, k.err) {
				kind = k.name
				break
			}
		}
		testproc.Say("error %s: %v", kind, err)
		os.Exit(1)
	}
	testproc.Hang()
}

// ecFollow is ecReaderChild's work for the row type of want.
func ecFollow[R comparable](dir string, o *table.Options, until int, want func(int) R) error {
	tb, err := table.Open[R](dir, o)
	if err != nil {
		return err
	}
	defer tb.Close()
	checked := 0
	check := func() error {
		return tb.Consistent(func() error {
			rows := make([]R, tb.Len()-checked)
			if _, err := tb.ReadRows(rows, checked); err != nil {
				return err
			}
			for j, r := range rows {
				if r != want(checked+j) {
					return fmt.Errorf("row %d is %+v, want %+v", checked+j, r, want(checked+j))
				}
			}
			return nil
		})
	}
	if err := check(); err != nil {
		return err
	}
	checked = tb.Len()
	testproc.Say("open %d", tb.Len())
	for checked < until {
		time.Sleep(time.Millisecond)
		if err := tb.Refresh(); err != nil {
			return err
		}
		if tb.Len() == checked {
			continue
		}
		if err := check(); err != nil {
			return err
		}
		checked = tb.Len()
		testproc.Say("rows %d", checked)
	}
	testproc.Hang() // open until killed
	return nil
}

// startReader starts a reader process (ecReaderChild) on dir, with the old
// type or, if newType, the case's new one.
func startReader(t *testing.T, dir string, c ecCase, newType bool, until int) *testproc.Child {
	t.Helper()
	env := []string{"PERSIST_TEST_DIR=" + dir, "PERSIST_TEST_CASE=" + c.name, fmt.Sprintf("PERSIST_TEST_UNTIL=%d", until)}
	if newType {
		env = append(env, "PERSIST_TEST_NEW=1")
	}
	return testproc.Start(t, "TestEvolveBesideReaders", "reader", env...)
}

// readerSays waits for a reader's first word on its open: "open N" or
// "error KIND: ...".
func readerSays(t *testing.T, r *testproc.Child) string {
	t.Helper()
	var got string
	ok := r.WaitFor(30*time.Second, func(lines []string) bool {
		for _, l := range lines {
			if strings.HasPrefix(l, "open ") || strings.HasPrefix(l, "error ") {
				got = l
				return true
			}
		}
		return false
	})
	require.True(t, ok, "the reader said nothing of its open: %q\n%s", r.Lines(), r.Stderr())
	return got
}

// TestEvolveBesideReaders runs schema changes while readers in other
// processes have the table open:
//
//   - a drop, rename or widen waits for them up to the lock timeout, then
//     fails with a ReadersError naming their pids, and the table is as it
//     was; once they are gone, it runs;
//   - an add runs beside them: they keep reading their columns, Refresh
//     shows them the rows appended after it, and a new reader opens the
//     new schema;
//   - a reader that opens while a change runs (at its first build, and
//     just after its switch) reads the old schema or the new one in full,
//     or is refused (ErrLocked while a change that rewrites files holds
//     them, ErrSchema for a type the manifest does not have yet).
func TestEvolveBesideReaders(t *testing.T) {
	if testproc.Role() == "reader" {
		ecReaderChild()
	}
	template := ecTemplate(t)
	t.Run("rewrites wait", func(t *testing.T) {
		for k, c := range ecCases {
			if !c.rewrites {
				continue
			}
			dir := copyTable(t, template)
			r := startReader(t, dir, c, false, ecRows)
			require.Equal(t, fmt.Sprintf("open %d", ecRows), readerSays(t, r))
			before := snapshot(t, dir)
			timeout := 200 * time.Millisecond
			if k%2 == 0 {
				timeout = 0 // no wait at all
			}
			err := c.open(dir, &table.Options{LockTimeout: timeout})
			var re *table.ReadersError
			require.ErrorAs(t, err, &re, "%s beside a reader", c.name)
			require.ErrorIs(t, err, table.ErrReaders)
			require.ErrorIs(t, err, table.ErrLocked)
			require.Equal(t, timeout > 0, re.Waited, "%s: %v", c.name, err)
			if runtime.GOOS == "linux" {
				require.Contains(t, re.PIDs, r.Cmd.Process.Pid, "%s: %v", c.name, err)
			}
			t.Logf("%s: %v", c.name, err)
			require.Equal(t, before, snapshot(t, dir), "%s: refused, and the table is as it was", c.name)

			r.Kill()
			rec, err := c.verify(t, dir, nil)
			require.NoError(t, err, "%s, the reader gone", c.name)
			require.NotEmpty(t, rec.SchemaChanges)
		}
	})

	t.Run("add beside a reader", func(t *testing.T) {
		const more = 500
		dir := copyTable(t, template)
		old := startReader(t, dir, ecCaseNamed("add"), false, ecRows+more)
		require.Equal(t, fmt.Sprintf("open %d", ecRows), readerSays(t, old))

		w, err := table.Open[ecAdd](dir, nil)
		require.NoError(t, err, "an add does not wait for readers")
		t.Cleanup(func() { w.Close() })
		ch := w.Recovered().SchemaChanges
		require.Len(t, ch, 1)
		require.Equal(t, "add", ch[0].Op)
		for i := ecRows; i < ecRows+more; i++ {
			require.NoError(t, w.Append(ecAdd{ecOld: ecRow(i), Extra: ecExtra(i)}))
			if i == ecRows+more/2 {
				require.NoError(t, w.Sync())
			}
		}
		old.Expect(t, fmt.Sprintf("rows %d", ecRows+more), 30*time.Second)
		require.NotContains(t, strings.Join(old.Lines(), "\n"), "error")

		fresh := startReader(t, dir, ecCaseNamed("add"), true, ecRows+more)
		require.Equal(t, fmt.Sprintf("open %d", ecRows+more), readerSays(t, fresh), "a new reader opens the new schema")
		require.NoError(t, w.Close())
		mustCheck(t, dir)
	})

	t.Run("open during a change", func(t *testing.T) {
		for _, name := range []string{"add", "drop", "widen"} {
			c := ecCaseNamed(name)
			dir := copyTable(t, template)
			first := "table.schema.build"
			if c.builds == 0 {
				first = "table.schema.commit"
			}
			seen := map[string][2]string{}
			crashpoint.SetHook(func(point string) {
				if point != first && point != "table.schema.switched" {
					return
				}
				if _, done := seen[point]; done {
					return
				}
				o, n := startReader(t, dir, c, false, 0), startReader(t, dir, c, true, 0)
				seen[point] = [2]string{readerSays(t, o), readerSays(t, n)}
			})
			err := c.open(dir, nil)
			crashpoint.SetHook(nil)
			require.NoError(t, err)
			opened := fmt.Sprintf("open %d", ecRows)
			for _, point := range []string{first, "table.schema.switched"} {
				got := seen[point]
				t.Logf("%s, readers opening at %s: old type %q, new type %q", name, point, got[0], got[1])
				switch {
				case c.rewrites:
					require.True(t, strings.HasPrefix(got[0], "error locked: "), "%s at %s: %q", name, point, got[0])
					require.True(t, strings.HasPrefix(got[1], "error locked: "), "%s at %s: %q", name, point, got[1])
				case point == first:
					require.Equal(t, opened, got[0], "%s at %s", name, point)
					require.True(t, strings.HasPrefix(got[1], "error schema: "), "%s at %s: %q", name, point, got[1])
				default:
					require.Equal(t, [2]string{opened, opened}, got, "%s at %s", name, point)
				}
			}
		}
	})
}
