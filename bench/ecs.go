package bench

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// SingleAppendWorkloads compare the table with the Ark ECS, the in-memory
// store ECS users have today: one row at a time, a batch, and a one-column loop.
func SingleAppendWorkloads(c Config) []*Workload {
	n := c.SingleRows
	size := "rows=" + sizeName(n)
	var dir string
	var rows []Row
	var tab *Table
	var ark *ArkStore
	tabDir := func() string { return filepath.Join(dir, "table") }
	openTab := func() (err error) {
		if err := freshDir(tabDir()); err != nil {
			return err
		}
		tab, err = OpenTable(tabDir())
		return err
	}
	// A new table's pages come from free memory: primed as in Bulk append.
	openTabPrimed := func() error {
		if err := openTab(); err != nil {
			return err
		}
		return primeMemory(filepath.Join(dir, "prime"), RowBytes(rows))
	}
	closeTab := func() error {
		if tab.Len() != n {
			return fmt.Errorf("table holds %d rows, want %d", tab.Len(), n)
		}
		return errors.Join(closer(&tab)(), os.RemoveAll(tabDir()))
	}
	prime := func() error { return primeMemory(filepath.Join(dir, "prime"), RowBytes(rows)) }
	newArk := func() error { ark = NewArkStore(); return prime() }
	dropArk := func() error { ark = nil; return release() }
	setup := func() (err error) {
		rows = MakeRows(0, n)
		dir, err = TempDir("ecs")
		return err
	}
	teardown := func() error { rows = nil; return os.RemoveAll(dir) }

	const refill = "table Append, pages already touched"
	single := &Workload{
		Name: "Single-row append", Size: size, Unit: PerRow, Lib: "table Append",
		Notes: []string{"One call per row into an empty store, growth included; allocs are amortized over all rows.",
			"The goal is judged on the first line, a new table whose file pages are faulted in as rows arrive (by the writer's pretoucher goroutine, on the other core); the second line shows Append alone. Free memory is primed before every run, as in Bulk append."},
		Setup:    setup,
		Teardown: teardown,
		Cases: []*Case{
			{Name: "table Append", Units: float64(n), Before: openTabPrimed, After: closeTab,
				Run: func() error {
					for _, r := range rows {
						if err := tab.Append(r); err != nil {
							return err
						}
					}
					return nil
				}},
			{Name: refill, Units: float64(n), Self: true, After: closeTab,
				// Fill through the mapping and truncate first, untimed: what
				// remains is Append's own cost, without the page faults of a
				// new file. (AppendRows would not do: it may write around
				// the mapping.)
				Before: func() error {
					if err := openTab(); err != nil {
						return err
					}
					for _, r := range rows {
						if err := tab.Append(r); err != nil {
							return err
						}
					}
					return tab.Truncate(0)
				},
				Run: func() error {
					for _, r := range rows {
						if err := tab.Append(r); err != nil {
							return err
						}
					}
					return nil
				}},
			{Name: "Ark NewEntity", Units: float64(n), Before: newArk, After: dropArk,
				Run: func() error {
					for _, r := range rows {
						ark.Append(r)
					}
					return nil
				}},
			{Name: "heap per-field append", Units: float64(n), Before: prime, After: dropArk,
				Run: func() error {
					var cols Columns
					for _, r := range rows {
						cols.Append(r)
					}
					sink = &cols
					return nil
				}},
		},
		Goals: []Goal{{
			Text: "single-row Append ≤ 15 ns/row with 0 allocs",
			Eval: func(r *Result) (string, bool) {
				ns, allocs := r.Median("table Append"), r.MedianAllocs("table Append")
				return fmt.Sprintf("%.2f ns/row, %.4f allocs/row (goal 15 ns: %s); %.2f ns/row into pages already touched",
						ns, allocs, distance(15/ns, 1), r.Median(refill)),
					ns <= 15 && allocs < 0.01
			},
		}},
	}
	batch := &Workload{
		Name: "Batch append vs Ark", Size: size, Unit: PerRow, Lib: "table AppendRows",
		Setup:    setup,
		Teardown: teardown,
		Cases: []*Case{
			{Name: "table AppendRows", Units: float64(n), Before: openTabPrimed, After: closeTab,
				Run: func() error { return tab.AppendRows(rows) }},
			{Name: "Ark NewBatchFn", Units: float64(n), Before: newArk, After: dropArk,
				Run: func() error { ark.AppendRows(rows); return nil }},
		},
	}
	_, wantSum := ExpectedSums(n)
	query := &Workload{
		Name: "One-column loop vs Ark query", Size: size, Unit: PerRow, Lib: "table column Slice()",
		Notes: []string{"Sums the float64 Value column."},
		Setup: func() error {
			if err := setup(); err != nil {
				return err
			}
			if err := openTab(); err != nil {
				return err
			}
			if err := tab.AppendRows(rows); err != nil {
				return err
			}
			ark = NewArkStore()
			ark.AppendRows(rows)
			rows = nil
			if a, b := SumFloat64(tab.Values()), ark.SumValues(); a != wantSum || b != wantSum {
				return fmt.Errorf("sums %g (table), %g (Ark); want %g", a, b, wantSum)
			}
			return nil
		},
		Teardown: func() error { ark = nil; return errors.Join(closer(&tab)(), teardown()) },
		Cases: []*Case{
			{Name: "table column Slice()", Units: float64(n),
				Run: func() error { sink = SumFloat64(tab.Values()); return nil }},
			{Name: "Ark Query1 loop", Units: float64(n),
				Run: func() error { sink = ark.SumValues(); return nil }},
		},
	}
	return []*Workload{single, batch, query}
}
