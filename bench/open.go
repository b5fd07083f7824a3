package bench

import (
	"fmt"
	"os"
	"path/filepath"
)

// smallTableBytes is the small side of the open comparison.
const smallTableBytes = 1 << 20

// OpenWorkload times opening a large and a small table (the same, if open is
// O(1)) against loading the large table's rows with encoding/gob and
// encoding/json.
func OpenWorkload(c Config) *Workload {
	small, large, jsonRows := smallTableBytes/RowSize, c.LargeBytes/RowSize, c.JSONBytes/RowSize
	var dir string
	path := func(name string) string { return filepath.Join(dir, name) }
	openCase := func(name, sub string, n int) *Case {
		return &Case{Name: name, Units: 1, Self: true, Run: func() error {
			t, err := OpenTable(path(sub))
			if err != nil {
				return err
			}
			if t.Len() != n {
				t.Close()
				return fmt.Errorf("%s holds %d rows, want %d", sub, t.Len(), n)
			}
			return t.Close()
		}}
	}
	loadCase := func(name, file string, load func(string) ([]Row, error), n int) *Case {
		return &Case{Name: name, Units: float64(n) / float64(large),
			Run: func() error {
				rs, err := load(path(file))
				if err == nil && len(rs) != n {
					err = fmt.Errorf("%s: loaded %d rows, want %d", file, len(rs), n)
				}
				sink = rs
				return err
			},
			After: release}
	}
	largeName := bytesName(c.LargeBytes)
	lib, smallCase := "table open "+largeName, "table open "+bytesName(smallTableBytes)
	return &Workload{
		Name: "Open", Size: largeName + " vs " + bytesName(smallTableBytes), Unit: PerOp, Lib: lib, Reps: 3,
		Notes: []string{
			"A table open is timed with its Close, so that the loop can repeat it; files are in the page cache. Loads decode a file holding the whole []Row with encoding/gob or encoding/json.",
			fmt.Sprintf("JSON is loaded at %s and its time scaled linearly to %s.", bytesName(c.JSONBytes), largeName),
		},
		Setup: func() (err error) {
			if dir, err = TempDir("open"); err != nil {
				return err
			}
			for sub, n := range map[string]int{"small": small, "large": large} {
				t, err := OpenTable(path(sub))
				if err != nil {
					return err
				}
				err = fillTable(t, n)
				if cerr := t.Close(); err == nil {
					err = cerr
				}
				if err != nil {
					return err
				}
			}
			if err := SaveGob(path("rows.gob"), MakeRows(0, large)); err != nil {
				return err
			}
			if err := SaveJSON(path("rows.json"), MakeRows(0, jsonRows)); err != nil {
				return err
			}
			return release()
		},
		Teardown: func() error { return os.RemoveAll(dir) },
		Cases: []*Case{
			openCase(lib, "large", large),
			openCase(smallCase, "small", small),
			loadCase("gob load "+largeName, "rows.gob", LoadGob, large),
			loadCase("JSON load (scaled)", "rows.json", LoadJSON, jsonRows),
		},
		Goals: []Goal{{
			Text: "open of " + largeName + " ≤ 2x open of 1MiB", Peer: smallCase, Want: 0.5,
			Eval: func(r *Result) (string, bool) {
				x := r.Median(lib) / r.Median(smallCase)
				return fmt.Sprintf("%.2fx (goal ≤ 2x: %s)", x, distance(2/x, 1)), x <= 2
			},
		}},
	}
}
