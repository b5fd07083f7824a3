package bench

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/mmapvec/persistence/column"
)

// The scans of string and symbol columns: the table's views against Arrow
// arrays of the same events.

// SumLengths32 sums the value lengths of an Arrow String array from its
// offsets, as a filter or a per-row kernel over them would.
//
//go:noinline
func SumLengths32(offs []int32) int {
	t := 0
	for i := 1; i < len(offs); i++ {
		t += int(offs[i] - offs[i-1])
	}
	return t
}

// SumLengths64 is SumLengths32 for a LargeString array.
//
//go:noinline
func SumLengths64(offs []int64) int {
	t := 0
	for i := 1; i < len(offs); i++ {
		t += int(offs[i] - offs[i-1])
	}
	return t
}

// countInt32 counts the indices equal to v: the loop of Symbols.Count, on
// Arrow's int32 indices.
//
//go:noinline
func countInt32(s []int32, v int32) int {
	n := 0
	for _, c := range s {
		if c == v {
			n++
		}
	}
	return n
}

// CountArrowSymbol counts the rows of a dictionary array (int32 indices
// into strings) that hold v: v's index in the dictionary, then the
// indices equal to it.
func CountArrowSymbol(d *array.Dictionary, v string) int {
	dict := d.Dictionary().(*array.String)
	for i := range dict.Len() {
		if dict.Value(i) == v {
			return countInt32(d.Indices().(*array.Int32).Int32Values(), int32(i))
		}
	}
	return 0
}

// sumAll sums the lengths of a string column's values through All.
func sumAll(s *column.Strings) int {
	t := 0
	for _, v := range s.All() {
		t += len(v)
	}
	return t
}

// eventScan holds the same events in a table and in Arrow record batches,
// with the figures every scan of them must find.
type eventScan struct {
	dir        string
	tab        *EventTable
	urls       *column.Strings
	countries  *column.Symbols
	str, large *EventArrow
	urlBytes   int
	top        string
	topCount   int
}

// openEventScan stores n generated events in a synced table in a new
// directory and in Arrow batches of batch rows (0: arrowBatchRows), and
// with large in LargeString ones too.
func openEventScan(n, batch int, large bool) (s *eventScan, err error) {
	e := MakeEvents(n)
	s = &eventScan{urlBytes: e.URLBytes, top: string(e.Top()), topCount: e.Counts[e.Top()], str: &EventArrow{BatchRows: batch}}
	defer func() {
		if err != nil {
			err = errors.Join(err, s.Close())
		}
	}()
	if s.dir, err = TempDir("scan-strings"); err != nil {
		return s, err
	}
	if s.tab, err = OpenEventTable(filepath.Join(s.dir, "table")); err != nil {
		return s, err
	}
	if err = s.tab.Ingest(e.Rows); err != nil {
		return s, err
	}
	if s.urls, err = s.tab.URLs(); err != nil {
		return s, err
	}
	if s.countries, err = s.tab.Countries(); err != nil {
		return s, err
	}
	if err = s.str.Ingest(e.Rows); err != nil {
		return s, err
	}
	if large {
		s.large = &EventArrow{Large: true, BatchRows: batch}
		if err = s.large.Ingest(e.Rows); err != nil {
			return s, err
		}
	}
	stores := []EventStore{s.tab, s.str}
	if large {
		stores = append(stores, s.large)
	}
	for _, st := range stores {
		if err = st.Check(e); err != nil {
			return s, err
		}
	}
	return s, nil
}

// Close closes the table and removes its directory.
func (s *eventScan) Close() error {
	var errs []error
	if s.tab != nil && s.tab.T != nil {
		errs = append(errs, s.tab.Close())
	}
	for _, a := range []*EventArrow{s.str, s.large} {
		if a != nil {
			errs = append(errs, a.Close())
		}
	}
	if s.dir != "" {
		errs = append(errs, os.RemoveAll(s.dir))
	}
	return errors.Join(errs...)
}

// totalLen checks a kernel's total of URL bytes.
func (s *eventScan) totalLen(got int) error {
	if got != s.urlBytes {
		return fmt.Errorf("URL bytes %d, want %d", got, s.urlBytes)
	}
	return nil
}

// arrowLengths sums the URL lengths of every batch of a.
func arrowLengths(a *EventArrow) int {
	t := 0
	for _, rec := range a.Batches {
		switch u := rec.Column(1).(type) {
		case *array.String:
			t += SumLengths32(u.ValueOffsets())
		case *array.LargeString:
			t += SumLengths64(u.ValueOffsets())
		}
	}
	return t
}

// arrowCount counts the rows of every batch of a whose country is v.
func arrowCount(a *EventArrow, v string) int {
	n := 0
	for _, rec := range a.Batches {
		n += CountArrowSymbol(rec.Column(2).(*array.Dictionary), v)
	}
	return n
}

const (
	scanStringsLib   = "table Strings.TotalLen"
	scanStringsArrow = "Arrow String: lengths from offsets"
	countLib         = "table Symbols Lookup + Count"
	countArrow       = "Arrow dictionary: index of the value, count of it"
)

// StringScanWorkload sums the lengths of the URL column of StringRows
// events: the table's TotalLen (and a loop over All) against the same sum
// from the offsets of Arrow String and LargeString arrays.
func StringScanWorkload(c Config) *Workload {
	n := c.StringRows
	var s *eventScan
	total := func(f func() int) func() error { return func() error { return s.totalLen(f()) } }
	return &Workload{
		Name: "Scan strings", Size: "rows=" + sizeName(n), Unit: PerRow, Lib: scanStringsLib,
		Notes: []string{"Sums the lengths of the URL values (the events of Ingest strings) without reading their bytes; warm page cache. " +
			"The table reads each row's span (two uint64: 16 bytes a row) from its mapped column file; Arrow reads its offsets (4 bytes a row for String, 8 for LargeString), " +
			"a kernel taking each value's length as the difference of two offsets, as a filter or a per-row computation over them would " +
			"(Arrow's values are back to back, so their total alone is also the last offset less the first, in O(1) per batch). " +
			"Where the table's time goes: its loop sums the ends and the starts with no test per row (every element was checked when the table opened), " +
			"and it streams 4 times the bytes of String's offsets, so one core runs at the memory's bandwidth while Arrow's loop is bound by its instructions; " +
			"TotalLen therefore splits a column of more than 256k rows into blocks summed by up to GOMAXPROCS goroutines (2 here), and Arrow's loops run on one. " +
			"The row \"on one goroutine\" is TotalLen with GOMAXPROCS set to 1 while it runs: the loop alone."},
		Setup: func() (err error) {
			s, err = openEventScan(n, 0, true)
			return err
		},
		Teardown: func() error { return s.Close() },
		Cases: []*Case{
			{Name: scanStringsLib, Units: float64(n), Run: total(func() int { return s.urls.TotalLen() })},
			{Name: "table Strings.TotalLen on one goroutine", Units: float64(n), Self: true, Run: total(func() int { return oneProc(s.urls.TotalLen) })},
			{Name: "table Strings.All, sum of len", Units: float64(n), Self: true, Run: total(func() int { return sumAll(s.urls) })},
			{Name: scanStringsArrow, Units: float64(n), Run: total(func() int { return arrowLengths(s.str) })},
			{Name: "Arrow LargeString: lengths from offsets", Units: float64(n), Run: total(func() int { return arrowLengths(s.large) })},
		},
		Goals: []Goal{FasterThan("string scan (total length) ≥ 1x Arrow", scanStringsArrow, 1)},
	}
}

// SymbolCountWorkload counts the events of the most frequent country among
// StringRows: the table's Symbols.Lookup and Count against Arrow's
// dictionary arrays.
func SymbolCountWorkload(c Config) *Workload {
	n := c.StringRows
	var s *eventScan
	check := func(got int) error {
		if got != s.topCount {
			return fmt.Errorf("%d events of %s, want %d", got, s.top, s.topCount)
		}
		return nil
	}
	return &Workload{
		Name: "Count a symbol", Size: "rows=" + sizeName(n), Unit: PerRow, Lib: countLib,
		Notes: []string{"Counts the events of the most frequent country among the events of Ingest strings; warm page cache. " +
			"The table looks the value up in its dictionary (a map) and counts the rows holding its uint32 code; " +
			"Arrow looks for the value in each batch's dictionary (up to 200 strings) and counts its int32 indices equal to it, with the same loop as the table's Count. " +
			"The two loops compile to the same instructions (compare, SETE, add); the table's Count splits a column of more than 256k rows into blocks counted by up to GOMAXPROCS goroutines (2 here), Arrow's runs on one. " +
			"The row \"on one goroutine\" is Count with GOMAXPROCS set to 1 while it runs: against Arrow, it measures the memory behind the two loops (a mapped file, the Go heap) and the machine's noise rather than the code, so read it as parity."},
		Setup: func() (err error) {
			s, err = openEventScan(n, 0, false)
			return err
		},
		Teardown: func() error { return s.Close() },
		Cases: []*Case{
			{Name: countLib, Units: float64(n),
				Run: func() error {
					code, ok := s.countries.Lookup(s.top)
					if !ok {
						return fmt.Errorf("%s is not in the dictionary", s.top)
					}
					return check(s.countries.Count(code))
				}},
			{Name: "table Symbols Lookup + Count on one goroutine", Units: float64(n), Self: true,
				Run: func() error {
					code, _ := s.countries.Lookup(s.top)
					return check(oneProc(func() int { return s.countries.Count(code) }))
				}},
			{Name: countArrow, Units: float64(n),
				Run: func() error {
					return check(arrowCount(s.str, s.top))
				}},
		},
		Goals: []Goal{FasterThan("symbol count ≥ 1x Arrow dictionary", countArrow, 1)},
	}
}

// oneProc runs f with GOMAXPROCS set to 1: the table's scans then run on
// one goroutine, as Arrow's loops do.
func oneProc(f func() int) int {
	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)
	return f()
}
