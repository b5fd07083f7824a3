package table_test

import (
	"fmt"
	"path/filepath"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence/table"
)

// requirePanics asserts that f panics with a message containing says.
func requirePanics(t *testing.T, says string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		require.NotNil(t, r, "no panic; want one saying %q", says)
		require.Contains(t, fmt.Sprint(r), says)
	}()
	f()
}

// After Close every method with an error result returns ErrClosed, Row
// panics saying closed, Len is 0 and the rest still answer.
func TestClosedTable(t *testing.T) {
	for _, ro := range []bool{false, true} {
		t.Run(fmt.Sprintf("readonly=%v", ro), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "t")
			tb, err := table.Open[Particle](dir, nil)
			require.NoError(t, err)
			require.NoError(t, tb.AppendRows([]Particle{p(0), p(1), p(2)}))
			require.NoError(t, tb.Sync())
			if ro {
				require.NoError(t, tb.Close())
				tb, err = table.Open[Particle](dir, &table.Options{ReadOnly: true})
				require.NoError(t, err)
			}
			mass, err := table.Column[float64](tb, "Mass")
			require.NoError(t, err)
			require.Equal(t, 1.0, mass.Get(2))
			require.NoError(t, tb.Close())
			require.NoError(t, tb.Close(), "Close is idempotent")

			for name, err := range map[string]error{
				"Append":              tb.Append(p(3)),
				"AppendRows":          tb.AppendRows([]Particle{p(3)}),
				"SetRow":              tb.SetRow(0, p(3)),
				"SetRow out of range": tb.SetRow(99, p(3)),
				"SwapRemove":          tb.SwapRemove(0),
				"Truncate":            tb.Truncate(0),
				"Sync":                tb.Sync(),
			} {
				require.ErrorIs(t, err, table.ErrClosed, name)
			}
			_, err = table.Column[float64](tb, "Mass")
			require.ErrorIs(t, err, table.ErrClosed, "Column")
			_, err = table.Col(tb, func(r *Particle) *float64 { return &r.Mass })
			require.ErrorIs(t, err, table.ErrClosed, "Col")

			require.Equal(t, 0, tb.Len())
			require.Equal(t, dir, tb.Dir())
			require.Len(t, tb.Manifest().Columns, 4)
			require.Equal(t, map[bool]int{false: 0, true: 3}[ro], tb.Recovered().Rows, "Recovered still answers")
			requirePanics(t, "table: Row on a closed table", func() { tb.Row(0) })
			requirePanics(t, "closed", func() { tb.Row(-1) })

			// The view taken before Close is empty and says closed.
			require.Equal(t, 0, mass.Len())
			require.Nil(t, mass.Slice())
			for range mass.All() {
				t.Fatal("All yields nothing after Close")
			}
			requirePanics(t, `column "Mass": Get on a closed table`, func() { mass.Get(0) })
			requirePanics(t, `column "Mass": Set on a closed table`, func() { mass.Set(0, 1) })
			for _, c := range table.Columns(tb) {
				require.Equal(t, 0, c.Len, c.Name)
				require.True(t, c.Closed, c.Name)
				requirePanics(t, "closed", func() { c.ElemBytes(0) })
			}
		})
	}
}

// Out-of-range indexes follow one rule: ErrRange with the index and the
// length from methods with an error result, with the table unchanged; a
// slice-like panic from Row and the column views.
func TestOutOfRange(t *testing.T) {
	tb := mustOpen[Particle](t, filepath.Join(t.TempDir(), "t"), nil)
	require.NoError(t, tb.AppendRows([]Particle{p(0), p(1), p(2)}))

	cases := []struct {
		name, says string
		call       func() error
	}{
		{"SetRow(3)", "SetRow(3) with length 3", func() error { return tb.SetRow(3, p(9)) }},
		{"SetRow(-1)", "SetRow(-1) with length 3", func() error { return tb.SetRow(-1, p(9)) }},
		{"SwapRemove(3)", "SwapRemove(3) with length 3", func() error { return tb.SwapRemove(3) }},
		{"SwapRemove(-1)", "SwapRemove(-1) with length 3", func() error { return tb.SwapRemove(-1) }},
		{"Truncate(4)", "Truncate(4) with length 3", func() error { return tb.Truncate(4) }},
		{"Truncate(-1)", "Truncate(-1) with length 3", func() error { return tb.Truncate(-1) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.call()
			require.ErrorIs(t, err, table.ErrRange)
			require.Contains(t, err.Error(), "index out of range: "+c.says)
			require.Equal(t, 3, tb.Len(), "the table is unchanged")
			for i := range 3 {
				require.Equal(t, p(i), tb.Row(i))
			}
		})
	}
	require.NoError(t, tb.Truncate(3), "Truncate(Len) keeps every row")
	requirePanics(t, "table: row index out of range [3] with length 3", func() { tb.Row(3) })
	requirePanics(t, "table: row index out of range [-1] with length 3", func() { tb.Row(-1) })

	id, err := table.Column[uint32](tb, "id")
	require.NoError(t, err)
	requirePanics(t, `column "id": Get: index out of range [3] with length 3`, func() { id.Get(3) })
	requirePanics(t, `column "id": Set: index out of range [-1] with length 3`, func() { id.Set(-1, 0) })

	// On an empty table, index 0 is out of range too.
	require.NoError(t, tb.Truncate(0))
	require.ErrorIs(t, tb.SetRow(0, p(0)), table.ErrRange)
	require.ErrorIs(t, tb.SwapRemove(0), table.ErrRange)
	requirePanics(t, "out of range [0] with length 0", func() { id.Get(0) })
}

// A read-only table refuses writes with ErrReadOnly, before looking at the
// index.
func TestReadOnlyBeforeRange(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t")
	tb, err := table.Open[Particle](dir, nil)
	require.NoError(t, err)
	require.NoError(t, tb.Append(p(0)))
	require.NoError(t, tb.Close())
	ro := mustOpen[Particle](t, dir, &table.Options{ReadOnly: true})
	require.ErrorIs(t, ro.SetRow(5, p(1)), table.ErrReadOnly)
	require.ErrorIs(t, ro.SwapRemove(5), table.ErrReadOnly)
	require.ErrorIs(t, ro.Truncate(5), table.ErrReadOnly)
	id, err := table.Column[uint32](ro, "id")
	require.NoError(t, err)
	requirePanics(t, "read-only", func() { id.Set(0, 1) })
}

// The iterators of every kind of column view stop when the loop body
// closes the table, rather than reading on through the mapping that Close
// took away (a fault that killed the process). Table.All yields the rest
// of the block it read before (Go memory), then stops. Memory faults are
// panics here, so a regression fails the test rather than the run.
func TestAllStopsWhenClosedInBody(t *testing.T) {
	type row struct {
		A int64
		S string
		Y table.Symbol
	}
	open := func(t *testing.T) *table.Table[row] {
		tb, err := table.Open[row](filepath.Join(t.TempDir(), "t"), nil)
		require.NoError(t, err)
		for i := range 10 {
			require.NoError(t, tb.Append(row{A: int64(i), S: fmt.Sprint("v", i), Y: "sym"}))
		}
		return tb
	}
	// each ranges over one iterator, closing the table at the first element,
	// and returns how many elements the loop body saw.
	for name, each := range map[string]func(tb *table.Table[row]) int{
		"Table": func(tb *table.Table[row]) (n int) {
			for range tb.All() {
				n++
				_ = tb.Close()
			}
			return n
		},
		"Column": func(tb *table.Table[row]) (n int) {
			a, err := table.Column[int64](tb, "A")
			require.NoError(t, err)
			for range a.All() {
				n++
				_ = tb.Close()
			}
			return n
		},
		"Strings": func(tb *table.Table[row]) (n int) {
			s, err := table.Strings(tb, "S")
			require.NoError(t, err)
			for range s.All() {
				n++
				_ = tb.Close()
			}
			return n
		},
		"Symbols": func(tb *table.Table[row]) (n int) {
			y, err := table.Symbols(tb, "Y")
			require.NoError(t, err)
			for range y.All() {
				n++
				_ = tb.Close()
			}
			return n
		},
	} {
		t.Run(name, func(t *testing.T) {
			defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
			want := 1
			if name == "Table" {
				want = 10 // one block
			}
			require.Equal(t, want, each(open(t)), "elements seen, the first of them closing the table")
		})
	}
}
