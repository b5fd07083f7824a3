package bench

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/mmapvec/persistence/table"
)

// GroupCommitWorkload measures rows/s when every row must be durable before
// its writer goes on, written by one goroutine, and by many at once through
// AppendSync, which commits the rows appended meanwhile with one flush.
func GroupCommitWorkload(perWriter int) *Workload {
	var dir string
	var wide *table.Table[Wide]
	const lib, one, writers = "table AppendSync, 16 goroutines", "table AppendSync, 1 goroutine", 16
	open := func() (err error) {
		if err := freshDir(filepath.Join(dir, "table")); err != nil {
			return err
		}
		if wide, err = OpenWideTable(filepath.Join(dir, "table")); err != nil {
			return err
		}
		return wide.AppendSync(Wide{}) // the first Sync of an open checkpoints: leave it out
	}
	run := func(goroutines int) func() error {
		return func() error {
			var wg sync.WaitGroup
			errs := make([]error, goroutines)
			for g := range goroutines {
				wg.Go(func() {
					for i := range perWriter {
						v := int64(g*perWriter + i)
						if err := wide.AppendSync(Wide{v, v, v, v, v, v, v, v}); err != nil {
							errs[g] = err
							return
						}
					}
				})
			}
			wg.Wait()
			return errors.Join(errs...)
		}
	}
	check := func(goroutines int) func() error {
		return func() error {
			var err error
			if got, want := wide.Len(), 1+goroutines*perWriter; got != want {
				err = fmt.Errorf("the table holds %d rows, want %d", got, want)
			}
			return errors.Join(err, closer(&wide)())
		}
	}
	return &Workload{
		Name: "Group commit", Size: fmt.Sprintf("%d rows per goroutine", perWriter), Unit: PerRow, Lib: lib,
		Notes: []string{
			"Each goroutine appends one row at a time and waits until it is durable (AppendSync) before the next; with 16 goroutines, the rows appended while one flush runs share the next.",
		},
		Setup: func() (err error) {
			dir, err = TempDir("group")
			return err
		},
		Teardown: func() error { return os.RemoveAll(dir) },
		Cases: []*Case{
			{Name: lib, Units: float64(writers * perWriter), Before: open, Run: run(writers), After: check(writers)},
			{Name: one, Units: float64(perWriter), Self: true, Before: open, Run: run(1), After: check(1)},
		},
		Goals: []Goal{FasterThan("16 goroutines ≥ 10x the rows/s of one", one, 10)},
	}
}
