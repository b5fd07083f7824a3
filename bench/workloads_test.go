package bench

import (
	"errors"
	"testing"
	"time"
)

// tinyConfig shrinks every workload until the whole report runs in seconds;
// each case still checks its sums and row counts against the heap oracle.
func tinyConfig() Config {
	return Config{
		MinDur:        time.Millisecond,
		ScanRows:      tinyRows,
		BulkRows:      tinyRows,
		SingleRows:    tinyRows,
		CommitBatches: map[int]int{1: 4, 100: 250, 10_000: 10_000},
		LargeBytes:    2 << 20,
		JSONBytes:     256 << 10,
		ReaderRows:    tinyRows,
		LagRows:       20,
		StringRows:    tinyRows,
	}
}

func TestWorkloadsRunAtTinySize(t *testing.T) {
	for _, w := range Workloads(tinyConfig()) {
		t.Run(w.Name+"/"+w.Size, func(t *testing.T) {
			r := w.Run(2, time.Millisecond)
			if r.Err != nil {
				t.Fatal(r.Err)
			}
			for _, c := range w.Cases {
				if n := len(r.Samples[c.Name]); n != 2 {
					t.Errorf("%s: %d samples, want 2", c.Name, n)
				}
				if m := r.Median(c.Name); !(m > 0) && w.Unit != Bytes {
					t.Errorf("%s: median cost %g", c.Name, m)
				}
			}
			for _, g := range w.Goals {
				if have, _ := g.Eval(r); have == "" {
					t.Errorf("goal %q evaluated to nothing", g.Text)
				}
			}
		})
	}
}

func TestTableScanMatchesHeap(t *testing.T) {
	tab, err := OpenTable(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer tab.Close()
	if err := fillTable(tab, tinyRows); err != nil {
		t.Fatal(err)
	}
	gotI, gotF := tab.Sum()
	wantI, wantF := NewHeapScan(tinyRows).Sum()
	if gotI != wantI || gotF != wantF {
		t.Fatalf("table sums %d, %g; heap %d, %g", gotI, gotF, wantI, wantF)
	}
}

func TestFailingSetupIsReported(t *testing.T) {
	tornDown := false
	w := &Workload{Name: "broken", Cases: []*Case{{
		Name:     "x",
		Setup:    func() error { return errBroken },
		Run:      func() error { return nil },
		Teardown: func() error { tornDown = true; return nil },
	}}}
	if r := w.Run(1, time.Millisecond); r.Err == nil || !tornDown {
		t.Fatalf("err %v, torn down %v", r.Err, tornDown)
	}
}

var errBroken = errors.New("broken")
