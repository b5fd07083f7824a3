// Analytics: ingest events in bulk with AppendRows, then aggregate single
// columns without touching the others.
package main

import (
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/mmapvec/persistence/table"
)

// Event is one page view.
type Event struct {
	TS       int64   `persist:"ts"` // Unix milliseconds
	UserID   uint32  `persist:"user"`
	Country  uint16  `persist:"country"` // index into a side table
	Status   uint16  `persist:"status"`
	Duration float32 `persist:"duration_ms"`
}

const (
	events = 5_000_000
	batch  = 64 * 1024
)

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
				Country: uint16(rng.IntN(50)), Status: status, Duration: float32(rng.ExpFloat64() * 120)}
		}
		if err := t.AppendRows(buf[:n]); err != nil {
			log.Fatal(err)
		}
	}
	if err := t.Sync(); err != nil {
		log.Fatal(err)
	}
	ingest := time.Since(start)
	fmt.Printf("ingested %d events in %v (%.0f events/s, synced)\n", t.Len(), ingest.Round(time.Millisecond), float64(t.Len())/ingest.Seconds())

	// Single-column aggregates.
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
	country, err := table.Column[uint16](t, "country")
	if err != nil {
		log.Fatal(err)
	}
	var perCountry [50]int
	for _, c := range country.Slice() {
		perCountry[c]++
	}
	top := 0
	for c := range perCountry {
		if perCountry[c] > perCountry[top] {
			top = c
		}
	}
	fmt.Printf("aggregated 3 columns in %v\n", time.Since(start).Round(time.Microsecond))
	fmt.Printf("  error rate %.2f%%, mean duration %.1f ms, slowest %.0f ms, busiest country #%d (%d views)\n",
		100*float64(errors)/float64(t.Len()), total/float64(t.Len()), slowest, top, perCountry[top])
}
