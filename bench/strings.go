package bench

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/mmapvec/persistence/table"
)

// Event is the row of the string workloads: a page view with a URL (a
// string column) and a country (a symbol column) between fixed-size fields.
// The parquet tag dictionary-encodes the country, as a parquet user would.
type Event struct {
	TS      int64
	URL     string
	Country table.Symbol `parquet:",dict"`
	Dur     float32
}

// eventSeed makes every run, and every store in it, see the same events.
const eventSeed = 12

// Events is a generated batch of events, with the figures every store's
// copy of it is checked against.
type Events struct {
	Rows []Event
	// URLBytes is the summed length of the URLs.
	URLBytes int
	// Counts is the number of events of each country.
	Counts map[table.Symbol]int
}

// Top is the most frequent country, the value the symbol scans count.
func (e *Events) Top() table.Symbol {
	var top table.Symbol
	for _, c := range countries {
		if e.Counts[c] > e.Counts[top] {
			top = c
		}
	}
	return top
}

// BytesPerRow is the mean size of an event's values: TS, URL, country, Dur.
func (e *Events) BytesPerRow() int {
	if len(e.Rows) == 0 {
		return 0
	}
	n := 0
	for c, k := range e.Counts {
		n += len(c) * k
	}
	return (len(e.Rows)*12 + e.URLBytes + n + len(e.Rows)/2) / len(e.Rows)
}

// MakeEvents generates n events: URLs of varied lengths (60 bytes on
// average) over a few dozen hosts and a vocabulary of path words, and
// countries drawn from 200 with a Zipf skew (the first about an eighth of
// the events, the last a few in a hundred thousand). The URLs share one
// backing string, so that the generated rows cost the heap about what
// their bytes are.
func MakeEvents(n int) *Events {
	rng := rand.New(rand.NewPCG(eventSeed, eventSeed))
	host := rand.NewZipf(rng, 1.2, 1, uint64(len(urlHosts)-1))
	country := rand.NewZipf(rng, 1.1, 2, uint64(len(countries)-1))
	var b strings.Builder
	b.Grow(n * 62)
	ends := make([]int, n)
	var num []byte
	for i := range n {
		b.WriteString("https://")
		b.WriteString(urlHosts[host.Uint64()])
		for range 1 + rng.IntN(4) {
			b.WriteByte('/')
			switch k := rng.IntN(10); {
			case k < 6:
				b.WriteString(urlWords[rng.IntN(len(urlWords))])
			case k < 8:
				num = strconv.AppendUint(num[:0], rng.Uint64N(100_000_000), 10)
				b.Write(num)
			default: // an article's slug
				for w := range 3 + rng.IntN(4) {
					if w > 0 {
						b.WriteByte('-')
					}
					b.WriteString(urlWords[rng.IntN(len(urlWords))])
				}
			}
		}
		if rng.IntN(100) < 35 {
			b.WriteString(urlQueries[rng.IntN(len(urlQueries))])
			num = strconv.AppendUint(num[:0], rng.Uint64N(10_000), 10)
			b.Write(num)
		}
		ends[i] = b.Len()
	}
	all := b.String()
	e := &Events{Rows: make([]Event, n), URLBytes: len(all), Counts: map[table.Symbol]int{}}
	start := 0
	for i := range e.Rows {
		c := countries[country.Uint64()]
		e.Rows[i] = Event{
			TS:      1_700_000_000_000 + int64(i)*7 + rng.Int64N(7), // Unix ms
			URL:     all[start:ends[i]],
			Country: c,
			Dur:     float32(rng.ExpFloat64() * 120),
		}
		e.Counts[c]++
		start = ends[i]
	}
	return e
}

var urlHosts = func() []string {
	var hs []string
	for _, d := range []string{"example.com", "example.org", "shopfront.io", "dailynews.co.uk", "techblog.dev", "example.net"} {
		for _, s := range []string{"www", "m", "shop", "news", "blog", "docs", "api", "help", "store", "media"} {
			hs = append(hs, s+"."+d)
		}
	}
	return hs
}()

var urlWords = strings.Fields(`products category article search user account settings checkout
	cart news world sports tech blog posts docs guide api v2 images video live help faq contact
	about login signup orders wishlist deals electronics books home-garden fashion toys en de fr
	es 2024 2025 comments reviews compare brands stores jobs careers events tickets travel hotels
	flights weather finance markets opinion science health`)

// urlQueries each end with a number the generator appends.
var urlQueries = []string{"?id=", "?page=", "?q=summer+sale&page=", "?sort=price&page=",
	"?utm_source=newsletter&utm_medium=email&utm_campaign=", "?ref=home&pos="}

// countries are 200 ISO 3166-1 alpha-2 codes, the most frequent first:
// some forty of the countries with most web traffic, then others in
// alphabetical order.
var countries = func() []table.Symbol {
	top := strings.Fields(`US IN BR DE GB FR JP ID MX RU IT ES CA TR KR PL NL AU VN PH AR CO TH
		PK NG EG UA SA MY BD ZA CL PE SE BE CH AT RO CZ PT`)
	rest := strings.Fields(`AD AE AF AG AI AL AM AO AQ AS AW AX AZ BA BB BF BG BH BI BJ BL BM BN
		BO BQ BS BT BV BW BY BZ CC CD CF CG CI CK CM CN CR CU CV CW CX CY DJ DK DM DO DZ EC EE EH
		ER ET FI FJ FK FM FO GA GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT
		HU IE IL IM IO IQ IR IS JE JM JO KE KG KH KI KM KN KP KW KY KZ LA LB LC LI LK LR LS LT LU
		LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MZ NA NC NE NF NI NO NP
		NR NU NZ OM PA PF PG PM PN PR PS PW PY QA RE RS RW SB SC SD SG SH SI SJ SK SL SM SN SO SR
		SS ST SV SX SY SZ TC TD TF TG TJ TK TL TM TN TO TT TV TW TZ UG UM UY UZ VA VC VE VG VI VU
		WF WS YE YT ZM ZW`)
	var cs []table.Symbol
	for _, c := range slices.Concat(top, rest)[:200] {
		cs = append(cs, table.Symbol(c))
	}
	return cs
}()

// Contenders of the string ingest.
const (
	ingestLib     = "table AppendRows + Sync"
	ingestDuckDB  = "DuckDB appender (VARCHAR) + Flush"
	ingestSQLite  = "SQLite prepared INSERT, one tx (WAL)"
	ingestArrow   = "Arrow builders (String + dictionary)"
	ingestParquet = "parquet-go GenericWriter + fsync"
)

// StringIngestWorkload stores StringRows events, generated before timing,
// in each store: the library's AppendRows in batches and one Sync, against
// DuckDB's appender, SQLite, Arrow's builders and parquet-go, each starting
// empty and ending durable (Arrow's in memory).
func StringIngestWorkload(c Config) *Workload {
	n := c.StringRows
	var dir string
	var ev *Events
	var store EventStore
	var before int64
	wrote, held := map[string][]float64{}, map[string][]float64{}
	sub := func() string { return filepath.Join(dir, "store") }
	storeCase := func(name string, open func(dir string) (EventStore, error)) *Case {
		return &Case{Name: name, Units: float64(n),
			Before: func() (err error) {
				if err := freshDir(sub()); err != nil {
					return err
				}
				store, err = open(sub())
				before = procWritten()
				return err
			},
			Run: func() error { return store.Ingest(ev.Rows) },
			After: func() error {
				wrote[name] = append(wrote[name], float64(procWritten()-before))
				size, err := storeBytes(store, sub())
				held[name] = append(held[name], float64(size))
				return errors.Join(err, store.Check(ev), closer(&store)(), release(), os.RemoveAll(sub()))
			}}
	}
	w := &Workload{
		Name: "Ingest strings", Size: "rows=" + sizeName(n), Unit: PerRow, Lib: ingestLib, Reps: 3,
		Cases: []*Case{
			storeCase(ingestLib, func(d string) (EventStore, error) { return asStore(OpenEventTable(filepath.Join(d, "table"))) }),
			storeCase(ingestDuckDB, func(d string) (EventStore, error) { return asStore(OpenEventDuckDB(filepath.Join(d, "duck.db"))) }),
			storeCase(ingestSQLite, func(d string) (EventStore, error) { return asStore(OpenEventSQLite(filepath.Join(d, "sqlite.db"))) }),
			storeCase(ingestArrow, func(string) (EventStore, error) { return &EventArrow{}, nil }),
			storeCase(ingestParquet, func(d string) (EventStore, error) { return ParquetFile(d), nil }),
		},
		Goals: []Goal{
			FasterThan("string ingest ≥ 1x DuckDB appender", ingestDuckDB, 1),
			FasterThan("string ingest ≥ 1x SQLite", ingestSQLite, 1),
			FasterThan("string ingest ≥ 1x Arrow builders", ingestArrow, 1),
			FasterThan("string ingest ≥ 1x parquet-go", ingestParquet, 1),
		},
	}
	w.Setup = func() (err error) {
		ev = MakeEvents(n)
		w.BytesPerRow = ev.BytesPerRow()
		w.Notes = []string{ev.Describe(), fmt.Sprintf("Each store starts empty and ends durable: "+
			"the table by AppendRows in batches of %d events and one Sync (fdatasync of every file, then COMMIT); "+
			"DuckDB by its appender into a table of VARCHAR columns, the Flush at the end an autocommit that fsyncs its WAL; "+
			"SQLite by one prepared INSERT per event in one transaction, WAL mode with synchronous=FULL; "+
			"parquet-go by a GenericWriter (country dictionary-encoded, no compression) and an fsync of the file. "+
			"Arrow's builders (URL a String array, country a dictionary of int32 indices, record batches of %d events) keep their arrays on the Go heap and write nothing: "+
			"what a program pays before an IPC or parquet writer. "+
			"Closing each store, and checking that it holds every event (count, URL bytes, events of the top country), is untimed. "+
			"GB/s is the events' values (%d bytes per event: 12 for TS and Dur, the URL, 2 for the country) over the time.",
			eventBatch, arrowBatchRows, w.BytesPerRow)}
		dir, err = TempDir("strings")
		return err
	}
	w.Teardown = func() error {
		ev = nil
		if len(wrote[ingestLib]) > 0 {
			var b strings.Builder
			b.WriteString("Bytes written in the timed part (write_bytes of the process: the page-cache pages it dirtied, the table's through its mappings too) and held after it (allocated blocks on disk; Arrow's buffers on the heap), medians: ")
			for i, c := range w.Cases {
				if i > 0 {
					b.WriteString("; ")
				}
				fmt.Fprintf(&b, "%s wrote %s, holds %s", c.Name, iec(Median(wrote[c.Name])), iec(Median(held[c.Name])))
			}
			w.Notes = append(w.Notes, b.String()+".")
		}
		return os.RemoveAll(dir)
	}
	return w
}

// storeBytes is what a store holds: its files' allocated blocks in dir, or
// an in-memory store's buffers.
func storeBytes(s EventStore, dir string) (int64, error) {
	if a, ok := s.(*EventArrow); ok {
		return a.Bytes(), nil
	}
	_, alloc, err := treeBytes(dir)
	return alloc, err
}

// Describe says what the events are, for the notes.
func (e *Events) Describe() string {
	lo, hi := 0, 0
	for i, r := range e.Rows {
		if i == 0 || len(r.URL) < lo {
			lo = len(r.URL)
		}
		hi = max(hi, len(r.URL))
	}
	top := e.Top()
	return fmt.Sprintf("%d events of four fields: TS int64 (Unix ms), URL string (%.1f bytes on average, %d to %d: https URLs over 60 hosts, one to four path segments of words, numbers or slugs, a query string on about a third), "+
		"Country symbol (%d distinct ISO codes, Zipf-skewed: %s in %.1f%% of the events), Dur float32. They are generated before timing, with a fixed seed; every store gets the same.",
		len(e.Rows), float64(e.URLBytes)/float64(max(len(e.Rows), 1)), lo, hi, len(e.Counts), top, 100*float64(e.Counts[top])/float64(max(len(e.Rows), 1)))
}
