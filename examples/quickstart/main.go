// Quickstart: create a table in a temporary directory, append a million
// rows, sync, reopen, and scan one column, with timings.
package main

import (
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/mmapvec/persistence/table"
)

// Trade is one row: each field becomes a column file.
type Trade struct {
	TS     int64        // Unix nanoseconds
	Price  float64      `persist:"price"`
	Qty    int64        `persist:"qty"`
	Symbol table.Symbol // a dictionary-encoded string: a uint32 code per row
}

const rows = 1_000_000

func main() {
	tmp, err := os.MkdirTemp("", "quickstart-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	dir := filepath.Join(tmp, "trades")

	start := time.Now()
	t, err := table.Open[Trade](dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("created %s in %v\n", filepath.Base(dir), time.Since(start).Round(time.Microsecond))

	batch := make([]Trade, 0, 10_000)
	start = time.Now()
	for i := range rows {
		batch = append(batch, Trade{TS: int64(i) * 1e6, Price: 100 + float64(i%100)/100, Qty: int64(i%7 + 1), Symbol: "ACME"})
		if len(batch) == cap(batch) {
			if err := t.AppendRows(batch); err != nil {
				log.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	appendTime := time.Since(start)
	start = time.Now()
	if err := t.Sync(); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("appended %d rows in %v, synced in %v\n", t.Len(), appendTime.Round(time.Microsecond), time.Since(start).Round(time.Microsecond))
	if err := t.Close(); err != nil {
		log.Fatal(err)
	}

	start = time.Now()
	t, err = table.Open[Trade](dir, &table.Options{ReadOnly: true})
	if err != nil {
		log.Fatal(err)
	}
	defer t.Close()
	fmt.Printf("reopened read-only in %v: %d rows (%s)\n", time.Since(start).Round(time.Microsecond), t.Len(), t.Recovered())

	qty, err := table.Column[int64](t, "qty")
	if err != nil {
		log.Fatal(err)
	}
	price, err := table.Col(t, func(r *Trade) *float64 { return &r.Price })
	if err != nil {
		log.Fatal(err)
	}
	start = time.Now()
	var volume int64
	var notional float64
	q, p := qty.Slice(), price.Slice()
	for i := range q {
		volume += q[i]
		notional += float64(q[i]) * p[i]
	}
	fmt.Printf("scanned 2 columns in %v: volume %d, notional %.2f\n", time.Since(start).Round(time.Microsecond), volume, notional)
	fmt.Printf("row 123456: %+v\n", t.Row(123456))
}
