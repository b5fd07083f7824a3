package bench

import (
	"os"
	"path/filepath"
	"testing"
)

func BenchmarkIngestStrings(b *testing.B) { runWorkload(b, StringIngestWorkload(config())) }
func BenchmarkScanStrings(b *testing.B)   { runWorkload(b, StringScanWorkload(config())) }
func BenchmarkCountSymbol(b *testing.B)   { runWorkload(b, SymbolCountWorkload(config())) }

// TestMakeEvents: the events are the same on every call, and as the
// workloads describe them: URLs of 60 bytes on average and of varied
// lengths, 200 countries of which the first is the most frequent.
func TestMakeEvents(t *testing.T) {
	const n = 100_000
	e := MakeEvents(n)
	again := MakeEvents(n)
	for i := range e.Rows {
		if e.Rows[i] != again.Rows[i] {
			t.Fatalf("row %d differs between two calls: %+v, %+v", i, e.Rows[i], again.Rows[i])
		}
	}
	urlBytes, lo, hi := 0, 1<<30, 0
	counts := map[string]int{}
	for _, r := range e.Rows {
		urlBytes += len(r.URL)
		lo, hi = min(lo, len(r.URL)), max(hi, len(r.URL))
		counts[string(r.Country)]++
	}
	if urlBytes != e.URLBytes {
		t.Fatalf("URLBytes %d, the rows hold %d", e.URLBytes, urlBytes)
	}
	if avg := float64(urlBytes) / n; avg < 55 || avg > 65 || lo > 30 || hi < 120 {
		t.Fatalf("URLs of %.1f bytes on average, %d to %d; want about 60, from 30 or less to 120 or more", avg, lo, hi)
	}
	if len(counts) < 150 || len(counts) > 200 || e.Top() != countries[0] {
		t.Fatalf("%d countries, the most frequent %s; want 150 to 200, %s first", len(counts), e.Top(), countries[0])
	}
	if share := float64(e.Counts[e.Top()]) / n; share < 0.05 || share > 0.3 {
		t.Fatalf("the top country is %.1f%% of the events; want a skew of 5%% to 30%%", 100*share)
	}
	if len(countries) != 200 {
		t.Fatalf("%d country codes, want 200", len(countries))
	}
	seen := map[string]bool{}
	for _, c := range countries {
		if len(c) != 2 || seen[string(c)] {
			t.Fatalf("country %q: not a two-letter code, or listed twice", c)
		}
		seen[string(c)] = true
	}
	if b := e.BytesPerRow(); b < 12+55+2 || b > 12+65+2 {
		t.Fatalf("%d bytes per row", b)
	}
}

// TestEventStoresKeepEveryEvent ingests the same events into each store and
// checks what each holds.
func TestEventStoresKeepEveryEvent(t *testing.T) {
	e := MakeEvents(tinyRows)
	dir := t.TempDir()
	stores := map[string]func(string) (EventStore, error){
		"table":   func(d string) (EventStore, error) { return asStore(OpenEventTable(d)) },
		"duckdb":  func(d string) (EventStore, error) { return asStore(OpenEventDuckDB(d)) },
		"sqlite":  func(d string) (EventStore, error) { return asStore(OpenEventSQLite(d)) },
		"parquet": func(d string) (EventStore, error) { return ParquetFile(filepath.Dir(d)), nil },
		"arrow":   func(string) (EventStore, error) { return &EventArrow{}, nil },
		"arrow-l": func(string) (EventStore, error) { return &EventArrow{Large: true}, nil },
	}
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			d := filepath.Join(dir, name)
			if err := os.Mkdir(d, 0o755); err != nil {
				t.Fatal(err)
			}
			s, err := open(filepath.Join(d, "store"))
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Ingest(e.Rows); err != nil {
				t.Fatal(err)
			}
			if err := s.Check(e); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
	// A store missing an event fails its check.
	s := &EventArrow{}
	if err := s.Ingest(e.Rows[1:]); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Check(e); err == nil {
		t.Fatal("Check passed on a store missing an event")
	}
}

// TestEventScansAgree: the table's views and Arrow's arrays find the same
// URL bytes and the same count of the top country, across Arrow batches.
func TestEventScansAgree(t *testing.T) {
	s, err := openEventScan(2*tinyRows+1, tinyRows, true) // three batches
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	}()
	if len(s.str.Batches) != 3 || len(s.large.Batches) != 3 {
		t.Fatalf("%d and %d Arrow batches, want 3", len(s.str.Batches), len(s.large.Batches))
	}
	for name, got := range map[string]int{
		"TotalLen": s.urls.TotalLen(), "All": sumAll(s.urls),
		"Arrow String": arrowLengths(s.str), "Arrow LargeString": arrowLengths(s.large),
	} {
		if err := s.totalLen(got); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	code, ok := s.countries.Lookup(s.top)
	if !ok || code == 0 {
		t.Fatalf("Lookup(%q) = %d, %v", s.top, code, ok)
	}
	k := arrowCount(s.str, s.top)
	if got := s.countries.Count(code); got != s.topCount || k != s.topCount {
		t.Fatalf("%s: table counts %d, Arrow %d; want %d", s.top, got, k, s.topCount)
	}
	if got := SumLengths32([]int32{3, 5, 5, 9}); got != 6 {
		t.Fatalf("SumLengths32 = %d, want 6", got)
	}
}
