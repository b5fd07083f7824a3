package torture_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/mmapvec/persistence/internal/bootid"
	"github.com/mmapvec/persistence/table"
)

func init() {
	roles["table-workload"] = roleTableWorkload
	roles["table-random"] = roleTableRandom
	roles["table-open"] = roleTableOpen
}

type tableModel = model[trow]

func openTable(dir string, ro bool) (*table.Table[trow], error) {
	return table.Open[trow](dir, &table.Options{ReadOnly: ro})
}

// runTableOp performs o on tb; for 'B' it returns the reopened table.
func runTableOp(tb *table.Table[trow], dir string, o op) (*table.Table[trow], error) {
	switch o.kind {
	case 'A':
		if o.a == 1 {
			return tb, tb.Append(mkTRow(o.b, valOf(o.b)))
		}
		rs := make([]trow, o.a)
		for j := range rs {
			rs[j] = mkTRow(o.b+uint64(j), valOf(o.b+uint64(j)))
		}
		return tb, tb.AppendRows(rs)
	case 'S':
		return tb, tb.SetRow(int(o.a), mkTRow(tb.Row(int(o.a)).ID, o.b))
	case 'R':
		return tb, tb.SwapRemove(int(o.a))
	case 'T':
		return tb, tb.Truncate(int(o.a))
	case 'Y':
		return tb, tb.Sync()
	case 'B':
		if err := tb.Close(); err != nil {
			return tb, err
		}
		bootid.Override(o.boot)
		return openTable(dir, false)
	}
	return tb, fmt.Errorf("unknown op %s", o)
}

// fixedTableWorkload touches every write path of a table: creation, both
// appends, growth, the three journaled operations, syncs and a reboot.
func fixedTableWorkload() []op {
	m := tableModel{boot: "boot-0"}
	var ops []op
	add := func(o op) {
		ops = append(ops, o)
		m.do(o)
	}
	add(op{kind: 'A', a: 10, b: m.nextID})
	add(op{kind: 'A', a: 1, b: m.nextID})
	add(op{kind: 'Y'})
	add(op{kind: 'S', a: 3, b: 77})
	add(op{kind: 'R', a: 2})
	add(op{kind: 'R', a: 9}) // the last row: nothing to move
	add(op{kind: 'T', a: 6})
	add(op{kind: 'Y'})
	add(op{kind: 'A', a: 4000, b: m.nextID})
	add(op{kind: 'S', a: 100, b: 5})
	add(op{kind: 'Y'})
	add(op{kind: 'R', a: 0})
	add(op{kind: 'B', boot: "boot-1"})
	add(op{kind: 'A', a: 5, b: m.nextID})
	add(op{kind: 'Y'})
	add(op{kind: 'A', a: 6000, b: m.nextID})
	add(op{kind: 'T', a: 1000})
	add(op{kind: 'Y'})
	return ops
}

func roleTableWorkload() int {
	dir := os.Getenv("PERSIST_TEST_DIR")
	tb, err := openTable(dir, false)
	if err != nil {
		say("error open: %v", err)
		return 1
	}
	for k, o := range fixedTableWorkload() {
		say("begin %d %s", k, o)
		if tb, err = runTableOp(tb, dir, o); err != nil {
			say("error %d: %v", k, err)
			return 1
		}
		say("ack %d", k)
	}
	if err := tb.Close(); err != nil {
		say("error close: %v", err)
		return 1
	}
	say("done")
	return 0
}

// roleTableOpen opens the table (recovering it) and closes it.
func roleTableOpen() int {
	tb, err := openTable(os.Getenv("PERSIST_TEST_DIR"), false)
	if err != nil {
		say("error open: %v", err)
		return 1
	}
	say("recovered %d: %s", tb.Len(), tb.Recovered())
	if err := tb.Close(); err != nil {
		return 1
	}
	return 0
}

func roleTableRandom() int {
	dir := os.Getenv("PERSIST_TEST_DIR")
	s, _ := strconv.ParseUint(os.Getenv("PERSIST_TRIAL_SEED"), 10, 64)
	nextID, _ := strconv.ParseUint(os.Getenv("PERSIST_NEXT_ID"), 10, 64)
	rng := newRand(s)
	tb, err := openTable(dir, false)
	if err != nil {
		say("error open: %v", err)
		return 1
	}
	say("open %d", tb.Len())
	for k := 0; ; k++ {
		o := randomOp(rng, tb.Len(), nextID)
		if o.kind == 'A' {
			nextID += o.a
		}
		say("begin %d %s", k, o)
		if tb, err = runTableOp(tb, dir, o); err != nil {
			say("error %d: %v", k, err)
			return 1
		}
		say("ack %d", k)
	}
}

// copyDir copies the regular files of a table directory.
func copyDir(t testing.TB, from string) string {
	t.Helper()
	to := filepath.Join(t.TempDir(), "copy")
	if err := os.Mkdir(to, 0o755); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return to
}

// checkTable compares an open table with the states it may be in: the
// rows of one state exactly (so no torn row but those the model holds),
// every column as long as the table. It returns the index of the state
// that matched.
func checkTable(tb *table.Table[trow], states []tableModel) (int, error) {
	n := tb.Len()
	for _, c := range tb.Columns() {
		if c.Len() != n || c.Raw().Len() != n {
			return -1, fmt.Errorf("column %s has %d rows (file %d), the table %d", c.Name(), c.Len(), c.Raw().Len(), n)
		}
	}
	got, err := readRows(tb)
	if err != nil {
		return -1, err
	}
	var reasons []string
	for k, m := range states {
		want := m.rows()
		if len(want) != n {
			reasons = append(reasons, fmt.Sprintf("state %d: %d rows, want %d", k, n, len(want)))
			continue
		}
		if slices.Equal(got, want) {
			return k, nil
		}
		for i := range got {
			if got[i] != want[i] {
				reasons = append(reasons, fmt.Sprintf("state %d: row %d is %+v, want %+v", k, i, got[i], want[i]))
				break
			}
		}
	}
	// A torn row is only allowed where the model has it: an append cut
	// by a kill, over rows that a later reboot showed again (documented).
	for i, r := range got {
		if r.torn() {
			return -1, fmt.Errorf("row %d is torn: %+v; and the table matches none of %d allowed states: %s", i, r, len(states), strings.Join(reasons, "; "))
		}
	}
	return -1, fmt.Errorf("the table matches none of %d allowed states: %s", len(states), strings.Join(reasons, "; "))
}

// checkTableAfterCrash checks the table left in dir by a process that died
// with step o in flight after reaching state m (o nil: it finished). First
// a copy is opened as after a reboot: exactly a committed row count, each
// row one that some state wrote. Then dir itself is opened in the writer's
// boot: one of the states exactly. It returns the state found.
func checkTableAfterCrash(t *testing.T, dir string, m tableModel, o *op, what string) tableModel {
	t.Helper()
	states := []tableModel{m}
	if o != nil {
		states = append(states, m.apply(*o))
	}
	committed := 0
	if _, err := os.Stat(filepath.Join(dir, "manifest.json")); errors.Is(err, os.ErrNotExist) {
		if m.n != 0 || m.committed != 0 {
			t.Fatalf("%s: the table is gone: %v", what, err)
		}
		// Killed while creating it: Open below creates it afresh.
	} else {
		committed = checkRebootView(t, copyDir(t, dir), m, o, states, what)
	}
	bootid.Override(states[len(states)-1].boot)
	defer bootid.Override("")
	tb, err := openTable(dir, false)
	if err != nil {
		t.Fatalf("%s: reopen: %v", what, err)
	}
	defer tb.Close()
	// A kill while a new boot's open adopted the columns leaves some with
	// the old boot id: with no step in flight, "committed" is right too.
	if src := tb.Recovered().Source; src != table.SourceLive && src != table.SourceNew && o != nil && o.kind != 'B' {
		t.Errorf("%s: same boot, but the row count came from %q", what, src)
	}
	k, err := checkTable(tb, states)
	if err != nil {
		t.Fatalf("%s: %v (recovery: %s)", what, err, tb.Recovered())
	}
	found := states[k].clone()
	found.committed = committed
	if o != nil && o.kind == 'A' && found.n == m.n {
		if err := readTableTail(tb, &found, int(o.a)); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	return found
}

// checkRebootView opens a copy of a crashed table in another boot and
// returns its committed row count (which a redone intent may differ from).
func checkRebootView(t *testing.T, dir string, m tableModel, o *op, states []tableModel, what string) int {
	t.Helper()
	bootid.Override("reboot-after-" + strconv.Itoa(os.Getpid()))
	defer bootid.Override("")
	tb, err := openTable(dir, false)
	if err != nil {
		t.Fatalf("%s: reboot view: %v", what, err)
	}
	defer tb.Close()
	rec := tb.Recovered()
	lens := rebootCounts(m, o, states, rec)
	if !slices.Contains(lens, tb.Len()) {
		t.Fatalf("%s: reboot view: %d rows, want a committed count %v (recovery: %s)", what, tb.Len(), lens, rec)
	}
	if rec.Source != table.SourceCommitted && rec.Source != table.SourceNew {
		t.Fatalf("%s: reboot view: row count from %q", what, rec.Source)
	}
	for _, c := range tb.Columns() {
		if c.Raw().Len() != tb.Len() {
			t.Fatalf("%s: reboot view: column %s has %d rows, the table %d", what, c.Name(), c.Raw().Len(), tb.Len())
		}
	}
	got, err := readRows(tb)
	if err != nil {
		t.Fatalf("%s: reboot view: %v", what, err)
	}
	for i, r := range got {
		ok := false
		for _, s := range states {
			ok = ok || (i < len(s.mem) && s.mem[i] == r)
		}
		if ok {
			continue
		}
		// Documented: across an OS crash a row changed in place since the
		// last Sync may be old or new per column. A kill leaves that only
		// where a step in flight was writing: an append over rows cut by a
		// Truncate, or an in-place step whose intent the reboot discarded.
		inFlight := o != nil && ((o.kind == 'A' && i >= m.n && i < m.n+int(o.a)) ||
			((o.kind == 'S' || o.kind == 'R') && i == int(o.a) && rec.IntentDiscarded != ""))
		if !inFlight {
			t.Fatalf("%s: reboot view: row %d is %+v (torn %v), written by none of the states (recovery: %s)", what, i, r, r.torn(), rec)
		}
	}
	return rec.CommittedRows
}

// readRows reads the table through its column views, which is much
// faster than row by row.
func readRows(tb *table.Table[trow]) ([]trow, error) {
	id, err1 := table.Column[uint64](tb, "ID")
	v, err2 := table.Column[uint64](tb, "V")
	a, err3 := table.Column[int32](tb, "A")
	b, err4 := table.Column[[3]uint16](tb, "B")
	sum, err5 := table.Column[uint64](tb, "Sum")
	if err := errors.Join(err1, err2, err3, err4, err5); err != nil {
		return nil, err
	}
	ids, vs, as, bs, sums := id.Slice(), v.Slice(), a.Slice(), b.Slice(), sum.Slice()
	rows := make([]trow, len(ids))
	for i := range rows {
		rows[i] = trow{ID: ids[i], V: vs[i], A: as[i], B: bs[i], Sum: sums[i]}
	}
	return rows, nil
}

// rebootCounts are the row counts a table may have after a reboot: a
// committed count, or the count after redoing a SwapRemove or Truncate
// made on exactly the committed rows (FORMAT.md: such an intent is redone
// after a reboot too).
func rebootCounts(m tableModel, o *op, states []tableModel, rec table.Recovery) []int {
	var lens []int
	for _, s := range states {
		lens = append(lens, s.committed)
	}
	if o != nil && rec.Intent != "" && m.n == m.committed {
		switch o.kind {
		case 'R':
			lens = append(lens, m.committed-1)
		case 'T':
			lens = append(lens, int(o.a))
		}
	}
	return lens
}

// readTableTail loads rows [m.n, m.n+k) of m.mem from the column files,
// where a cut append may have left some of its rows.
func readTableTail(tb *table.Table[trow], m *tableModel, k int) error {
	cols := tb.Columns()
	for j := range k {
		i := m.n + j
		var r trow
		for _, c := range cols {
			if i >= c.Raw().Cap() {
				return nil
			}
			b := c.ElemBytes(i)
			switch c.Name() {
			case "ID":
				r.ID = ne.Uint64(b)
			case "V":
				r.V = ne.Uint64(b)
			case "A":
				r.A = int32(ne.Uint32(b))
			case "B":
				r.B = [3]uint16{ne.Uint16(b), ne.Uint16(b[2:]), ne.Uint16(b[4:])}
			case "Sum":
				r.Sum = ne.Uint64(b)
			default:
				return fmt.Errorf("unknown column %s", c.Name())
			}
		}
		if i < len(m.mem) {
			m.mem[i] = r
		} else {
			m.mem = append(m.mem, r)
		}
	}
	return nil
}

// TestTableCrashAtEveryPoint kills a child at crash point 1, 2, ... of a
// fixed table workload until a run completes, and checks each crashed
// table as after a reboot and as after a process crash. For the first kill
// at each point that leaves recovery work (an intent, unequal columns), it
// then kills the recovering Open at each of its own crash points, in the
// same boot and in a new one, and checks the result again.
func TestTableCrashAtEveryPoint(t *testing.T) {
	track(t)
	ops := fixedTableWorkload()
	reached := map[string]int{}
	runs, recoveryRuns := 0, 0
	for n := 1; ; n++ {
		dir := filepath.Join(t.TempDir(), "table")
		logPath := filepath.Join(t.TempDir(), "points")
		c := startChild(t, "table-workload", "PERSIST_TEST_DIR="+dir, "PERSIST_BOOT_ID=boot-0",
			"PERSIST_CRASH_AT="+strconv.Itoa(n), "PERSIST_CRASH_LOG="+logPath)
		lines := c.wait()
		points := readPoints(t, logPath)
		ws := c.cmd.ProcessState.Sys().(syscall.WaitStatus)
		if ws.Exited() && ws.ExitStatus() == 0 {
			if len(points) != n-1 {
				t.Fatalf("the complete run reached %d crash points, the crashing runs %d", len(points), n-1)
			}
			checkTableAfterCrash(t, dir, replay2[trow](ops, "boot-0"), nil, "complete run")
			break
		}
		if !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("run %d: child ended with %v, want SIGKILL at crash point %d; stdout %q", n, c.cmd.ProcessState, n, lines)
		}
		runs++
		// Sync flushes columns in parallel goroutines: points reached by
		// others may be logged after the one that killed, which is the n-th.
		if len(points) < n {
			t.Fatalf("run %d: killed after %d crash points", n, len(points))
		}
		point := points[n-1]
		reached[point]++
		fig.hook(point)
		acked, inflight, err := progress(lines)
		if err != nil {
			t.Fatalf("run %d: %v", n, err)
		}
		m := replay2[trow](ops[:acked+1], "boot-0")
		what := fmt.Sprintf("run %d, killed at %s in step %d (%v)", n, point, acked+1, inflight)
		// Recovery has work to crash in after these points; in long mode
		// it is killed after every point.
		leavesWork := map[string]bool{"table.intent.written": true, "table.setrow.applied": true,
			"table.swapremove.moved": true, "table.appendrows.column": true}[point]
		if testing.Short() {
			leavesWork = point == "table.intent.written" // one intent, to keep emulated runs short
		}
		if reached[point] == 1 && inflight != nil && (leavesWork || long()) {
			recoveryRuns += crashRecovery(t, dir, m, *inflight, what, reached)
		}
		checkTableAfterCrash(t, dir, m, inflight, what)
		if t.Failed() {
			return
		}
	}
	fig.add(&fig.crashRuns, runs+recoveryRuns)
	var names []string
	for name, k := range reached {
		names = append(names, fmt.Sprintf("%s×%d", name, k))
	}
	slices.Sort(names)
	t.Logf("%d crash runs of the workload (%d steps) and %d of recovery; points killed: %s", runs, len(ops), recoveryRuns, strings.Join(names, ", "))
	for _, want := range []string{"table.create.columns", "table.create.commit", "table.create.rename", "table.append",
		"table.appendrows.column", "table.intent.write", "table.intent.written", "table.intent.clear", "table.setrow.applied",
		"table.swapremove.moved", "table.sync.flush", "table.sync.commit", "table.sync.commit.written", "table.sync.done",
		"table.recover.lengths", "table.recover.redo", "table.recover.clear"} {
		if reached[want] == 0 {
			t.Errorf("crash point %s was never reached", want)
		}
	}
}

// crashRecovery kills Opens of copies of a crashed table at each of their
// crash points, in the writer's boot and in another, and checks each
// result. It returns the number of runs.
func crashRecovery(t *testing.T, crashed string, m tableModel, o op, what string, reached map[string]int) int {
	t.Helper()
	runs := 0
	for _, boot := range []string{m.apply(o).boot, "recovery-boot"} {
		for k := 1; ; k++ {
			dir := copyDir(t, crashed)
			logPath := filepath.Join(t.TempDir(), "points")
			c := startChild(t, "table-open", "PERSIST_TEST_DIR="+dir, "PERSIST_BOOT_ID="+boot,
				"PERSIST_CRASH_AT="+strconv.Itoa(k), "PERSIST_CRASH_LOG="+logPath)
			lines := c.wait()
			points := readPoints(t, logPath)
			ws := c.cmd.ProcessState.Sys().(syscall.WaitStatus)
			if ws.Exited() && ws.ExitStatus() == 0 {
				break
			}
			if !ws.Signaled() || len(points) < k {
				t.Fatalf("%s: recovery in %s: child ended with %v after %d points: %q", what, boot, c.cmd.ProcessState, len(points), lines)
			}
			runs++
			reached[points[k-1]]++
			fig.hook(points[k-1])
			rm := m
			if boot == "recovery-boot" {
				// A reboot came first: the rows of the last Sync, with
				// the step in flight redone or not.
				rm = m.apply(op{kind: 'B', boot: boot})
			}
			w := fmt.Sprintf("%s; recovery in %s killed at %s (point %d)", what, boot, points[k-1], k)
			if boot == "recovery-boot" {
				checkRecoveredInNewBoot(t, dir, m, o, w)
			} else {
				checkTableAfterCrash(t, dir, rm, &o, w)
			}
			if t.Failed() {
				return runs
			}
		}
	}
	return runs
}

// checkRecoveredInNewBoot opens a table whose recovery in a new boot was
// killed: it must show a committed count, as after a reboot.
func checkRecoveredInNewBoot(t *testing.T, dir string, m tableModel, o op, what string) {
	t.Helper()
	states := []tableModel{m, m.apply(o)}
	bootid.Override("recovery-boot")
	defer bootid.Override("")
	tb, err := openTable(dir, false)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	defer tb.Close()
	lens := rebootCounts(m, &o, states, tb.Recovered())
	if !slices.Contains(lens, tb.Len()) {
		t.Fatalf("%s: %d rows, want a committed count %v (recovery: %s)", what, tb.Len(), lens, tb.Recovered())
	}
	for i := range tb.Len() {
		if r := tb.Row(i); r.torn() && !(i == int(o.a) && (o.kind == 'S' || o.kind == 'R')) {
			t.Fatalf("%s: row %d is torn: %+v", what, i, r)
		}
	}
}

func replay2[T rowType](ops []op, boot string) model[T] {
	m := model[T]{boot: boot}
	for _, o := range ops {
		m.do(o)
	}
	return m
}
