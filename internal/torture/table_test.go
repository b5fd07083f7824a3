// The table under test: its row, steps, and how an open table is read and
// compared with the model.

package torture_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmapvec/persistence/internal/bootid"
	"github.com/mmapvec/persistence/table"
)

// trow is the row of the table workloads: five columns of different sizes,
// each derived from (ID, V), so a row whose columns come from two writes is
// seen as torn.
type trow struct {
	ID  uint64
	V   uint64
	A   int32
	B   [3]uint16
	Sum uint64
}

func mkTRow(id, val uint64) trow {
	h := id*0x9e3779b97f4a7c15 ^ val
	return trow{ID: id, V: val, A: int32(h >> 7), B: [3]uint16{uint16(h), uint16(h >> 16), uint16(h >> 32)}, Sum: rowSum(id, val)}
}

func (r trow) id() uint64 { return r.ID }

func (r trow) torn() bool { return r != mkTRow(r.ID, r.V) }

type tableModel = model[trow]

func openTable(dir string, ro bool) (*table.Table[trow], error) {
	// A small log: a power-loss image copies the log at each of its
	// fdatasyncs, and a full log (a checkpoint at the next Sync) comes
	// every few Syncs of large appends instead of never; 256 KiB still
	// takes a record of the largest append (3,000 rows).
	return table.Open[trow](dir, &table.Options{ReadOnly: ro, LogSize: 256 << 10})
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

// checkTable compares an open table with the states it may be in: the
// rows of one state exactly (so no torn row but those the model holds),
// every column as long as the table. It returns the index of the state
// that matched.
func checkTable(tb *table.Table[trow], states []tableModel) (int, error) {
	n := tb.Len()
	if err := checkFiles(tb); err != nil {
		return -1, err
	}
	got, err := readRows(tb)
	if err != nil {
		return -1, err
	}
	// An open that applied the log puts a row changed in place since the
	// last Sync back as that Sync left it, if a record holds the row.
	replayed := tb.Recovered().Replayed > 0
	var reasons []string
	for k, m := range states {
		want := m.rows()
		if len(want) != n {
			reasons = append(reasons, fmt.Sprintf("state %d: %d rows, want %d", k, n, len(want)))
			continue
		}
		mismatch := -1
		for i := range got {
			if got[i] != want[i] && !(replayed && i < len(m.synced) && got[i] == m.synced[i]) {
				mismatch = i
				break
			}
		}
		if mismatch < 0 {
			return k, nil
		}
		reasons = append(reasons, fmt.Sprintf("state %d: row %d is %+v, want %+v", k, mismatch, got[mismatch], want[mismatch]))
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

// readTableTail loads rows [m.n, m.n+k) of m.mem from the column files
// (read with pread at the element offsets FORMAT.md gives), where a cut
// append may have left some of its rows past the table's length.
func readTableTail(tb *table.Table[trow], m *tableModel, k int) error {
	man := tb.Manifest()
	files := map[string]*os.File{}
	for _, c := range man.Columns {
		f, err := os.Open(filepath.Join(tb.Dir(), c.File))
		if err != nil {
			return err
		}
		defer f.Close()
		files[c.Name] = f
	}
	for j := range k {
		i := m.n + j
		var r trow
		for _, c := range man.Columns {
			b := make([]byte, c.Layout.Size)
			if _, err := files[c.Name].ReadAt(b, int64(4096+i*c.Layout.Size)); err != nil {
				return nil // past the file: the append never reached it
			}
			switch c.Name {
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
				return fmt.Errorf("unknown column %s", c.Name)
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

// dirImage is the content of every regular file of a table directory.
type dirImage map[string][]byte

func readDir(t testing.TB, dir string) dirImage {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	img := dirImage{}
	for _, e := range entries {
		if e.Type().IsRegular() {
			img[e.Name()] = readFile(t, filepath.Join(dir, e.Name()))
		}
	}
	return img
}

// checkFiles runs the library's consistency check: every file's own
// lengths agree with the table's. What a writable open finishes (a torn
// COMMIT slot, an intent to redo) is expected of a read-only view after a
// crash; damage is not.
func checkFiles[R any](tb *table.Table[R]) error {
	rep, err := tb.Check()
	if err != nil {
		return fmt.Errorf("check: %w", err)
	}
	for _, p := range rep.Problems {
		if !errors.Is(p, table.ErrNeedsRecovery) {
			return fmt.Errorf("check: %w", p)
		}
	}
	return nil
}
