// Analytics: ingest page views in bulk with AppendRows (a URL string and
// a country symbol among fixed-size fields), then aggregate single columns
// without touching the others.
package main

import (
	"cmp"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mmapvec/persistence/table"
)

// Event is one page view.
type Event struct {
	TS       int64        `persist:"ts"` // Unix milliseconds
	UserID   uint32       `persist:"user"`
	URL      string       `persist:"url"`     // its bytes go to the column's heap
	Country  table.Symbol `persist:"country"` // dictionary-encoded: a uint32 code per row
	Status   uint16       `persist:"status"`
	Duration float32      `persist:"duration_ms"`
}

const (
	events = 5_000_000
	batch  = 64 * 1024
)

// countries are ISO codes, the most visits first.
var countries = strings.Fields("US IN BR DE GB FR JP ID MX IT ES CA KR PL NL AU TR VN PH AR SE CH BE AT NO DK FI IE PT NZ")

func main() {
	tmp, err := os.MkdirTemp("", "analytics-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	t, err := table.Open[Event](filepath.Join(tmp, "events"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer t.Close()

	rng := rand.New(rand.NewPCG(1, 2))
	pages := makePages(rng)
	page := rand.NewZipf(rng, 1.1, 1, uint64(len(pages)-1))
	country := rand.NewZipf(rng, 1.3, 1.5, uint64(len(countries)-1))
	buf := make([]Event, batch)
	start := time.Now()
	for t.Len() < events {
		n := min(batch, events-t.Len())
		for i := range buf[:n] {
			status := uint16(200)
			if rng.IntN(100) < 3 {
				status = 500
			}
			buf[i] = Event{TS: 1_700_000_000_000 + int64(t.Len()+i), UserID: rng.Uint32N(100_000),
				URL: pages[page.Uint64()], Country: table.Symbol(countries[country.Uint64()]),
				Status: status, Duration: float32(rng.ExpFloat64() * 120)}
		}
		if err := t.AppendRows(buf[:n]); err != nil {
			log.Fatal(err)
		}
	}
	if err := t.Sync(); err != nil {
		log.Fatal(err)
	}
	ingest := time.Since(start)
	fmt.Printf("ingested %d events in %v (%.2fM events/s, synced)\n", t.Len(), ingest.Round(time.Millisecond), float64(t.Len())/ingest.Seconds()/1e6)

	// Each aggregate reads one column: a slice of fixed-size values, or a
	// zero-copy view of a string or symbol column.
	start = time.Now()
	status, err := table.Column[uint16](t, "status")
	if err != nil {
		log.Fatal(err)
	}
	errors := 0
	for _, s := range status.Slice() {
		if s >= 500 {
			errors++
		}
	}
	dur, err := table.Column[float32](t, "duration_ms")
	if err != nil {
		log.Fatal(err)
	}
	var total float64
	var slowest float32
	for _, d := range dur.Slice() {
		total += float64(d)
		slowest = max(slowest, d)
	}
	urls, err := table.Strings(t, "url")
	if err != nil {
		log.Fatal(err)
	}
	checkout := 0
	for _, u := range urls.All() { // each value a string into the mapping, no copy
		if strings.HasPrefix(u, "https://shop.example.com/checkout") {
			checkout++
		}
	}
	cs, err := table.Symbols(t, "country")
	if err != nil {
		log.Fatal(err)
	}
	perCode := make([]int, cs.Symbols()+1) // codes are 1..Symbols(); 0 is ""
	for _, c := range cs.All() {
		perCode[c]++
	}
	codes := make([]uint32, 0, cs.Symbols())
	for c := range uint32(cs.Symbols()) {
		codes = append(codes, c+1)
	}
	slices.SortFunc(codes, func(a, b uint32) int { return cmp.Compare(perCode[b], perCode[a]) })
	fr, _ := cs.Lookup("FR") // one value: compare codes, not strings
	fromFR := cs.Count(fr)
	elapsed := time.Since(start)

	n := float64(t.Len())
	fmt.Printf("aggregated 4 columns in %v\n", elapsed.Round(time.Microsecond))
	fmt.Printf("  error rate %.2f%%, mean duration %.1f ms, slowest %.0f ms\n", 100*float64(errors)/n, total/n, slowest)
	fmt.Printf("  URLs: %.1f MB in all, %.1f bytes on average; %d views of checkout pages\n",
		float64(urls.TotalLen())/1e6, float64(urls.TotalLen())/n, checkout)
	var top []string
	for _, c := range codes[:5] {
		top = append(top, fmt.Sprintf("%s %d (%.1f%%)", cs.Value(c), perCode[c], 100*float64(perCode[c])/n))
	}
	fmt.Printf("  %d countries; top: %s; FR %d\n", cs.Symbols(), strings.Join(top, ", "), fromFR)
}

// makePages returns the site's pages: a few fixed ones, products, searches
// and articles.
func makePages(rng *rand.Rand) []string {
	pages := []string{"https://shop.example.com/", "https://shop.example.com/cart",
		"https://shop.example.com/checkout", "https://shop.example.com/checkout/payment",
		"https://shop.example.com/account/orders"}
	words := strings.Fields("summer sale shoes jacket lamp desk chair phone case cable coffee tea mug garden")
	for range 2000 {
		w := words[rng.IntN(len(words))]
		switch rng.IntN(3) {
		case 0:
			pages = append(pages, "https://shop.example.com/products/"+w+"/"+strconv.Itoa(100_000+rng.IntN(900_000)))
		case 1:
			pages = append(pages, "https://shop.example.com/search?q="+w+"+"+words[rng.IntN(len(words))]+"&page="+strconv.Itoa(1+rng.IntN(9)))
		default:
			pages = append(pages, "https://blog.example.com/"+strconv.Itoa(2020+rng.IntN(6))+"/"+w+"-guide-for-"+words[rng.IntN(len(words))]+"-lovers")
		}
	}
	return pages
}
