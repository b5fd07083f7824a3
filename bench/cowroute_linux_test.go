package bench

import (
	"testing"
	"time"
)

func TestCowRouteRunsOnASmallFile(t *testing.T) {
	ws := cowRouteWorkloads(2 << 20)
	if len(ws) != 2 {
		t.Fatalf("%d workloads, want 2", len(ws))
	}
	for _, w := range ws {
		r := w.Run(1, time.Millisecond)
		if r.Err != nil {
			t.Fatalf("%s: %v", w.Name, r.Err)
		}
		for _, c := range w.Cases {
			if len(r.Samples[c.Name]) != 1 {
				t.Errorf("%s: %d samples, want 1", c.Name, len(r.Samples[c.Name]))
			}
		}
		if w.Unit == Bytes {
			if got, want := r.Median(w.Lib), float64(2<<20); got != want {
				t.Errorf("%s: %g anonymous bytes after writing every page, want %g", w.Lib, got, want)
			}
		}
	}
}

// The checks the workloads rely on must be able to fail: a store through
// a shared mapping is in the file and no private copy, one through a
// private mapping is a private copy and not in the file until written back.
func TestCowRouteChecksTellMappingsApart(t *testing.T) {
	s, err := newCowFile(64 * cowPage)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.close(); err != nil {
			t.Error(err)
		}
	})
	shared, err := s.mapWhole(true)
	if err != nil {
		t.Fatal(err)
	}
	defer shared.unmap()
	private, err := s.mapWhole(false)
	if err != nil {
		t.Fatal(err)
	}
	defer private.unmap()

	v := s.next()
	shared.store(8, v)
	if err := s.fileHolds(8, v, false); err == nil {
		t.Error("fileHolds(want false) passed after a shared store")
	}
	if found, err := s.changed(shared, nil); err != nil || len(found) != 0 {
		t.Errorf("pagemap finds %v private in a shared mapping (%v)", found, err)
	}

	w := s.next()
	private.store(8, w)
	if err := s.fileHolds(8, w, false); err != nil {
		t.Errorf("a private store reached the file: %v", err)
	}
	if _, err := s.changedExactly(private, 16, nil); err == nil {
		t.Error("changedExactly passed for a stride other than the one written")
	}
	found, err := s.changedExactly(private, 8, nil)
	if err != nil {
		t.Fatal(err)
	}
	if pagemapScanWorks() {
		if got, err := s.scanChanged(private, nil); err != nil || len(got) != len(found) {
			t.Errorf("PAGEMAP_SCAN finds %v (%v), the pagemap read %v", got, err, found)
		}
	}
	if anon, err := s.anonBytes(private); err != nil || anon != int64(len(found))*cowPage {
		t.Errorf("anonymous bytes %d (%v), want %d", anon, err, len(found)*cowPage)
	}
	if err := s.writeBack(private, found); err != nil {
		t.Fatal(err)
	}
	if err := s.fileHolds(8, w, true); err != nil {
		t.Error(err)
	}
	if err := shared.holds(8, w); err != nil {
		t.Errorf("the shared mapping does not see the write-back: %v", err)
	}
	if left, err := s.changed(private, nil); err != nil || len(left) != 0 {
		t.Errorf("private pages %v left after the write-back (%v)", left, err)
	}
	if anon, err := s.anonBytes(private); err != nil || anon != 0 {
		t.Errorf("anonymous bytes %d (%v) after the write-back, want 0", anon, err)
	}
}
