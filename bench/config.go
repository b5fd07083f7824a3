package bench

import (
	"strconv"
	"time"
)

// Config sizes a report run. Full sizes fit a 2-core, 24 GiB machine in a few
// minutes; Quick ones run in about a minute.
type Config struct {
	Quick bool
	// MinDur is how long a repeated kernel runs for one sample.
	MinDur time.Duration
	// Rows sizes: scan, bulk append, single-row append.
	ScanRows, BulkRows, SingleRows int
	// Commit workload: rows per sample for each batch size.
	CommitBatches map[int]int
	// Open and memory workloads: the large table in bytes, and the JSON load
	// size that is scaled up to it.
	LargeBytes, JSONBytes int
	// Readers beside a writer: rows appended while readers refresh, and
	// rows whose lag to a reader is measured per round.
	ReaderRows, LagRows int
	// Strings: events of the string ingest and scans.
	StringRows int
}

func FullConfig() Config {
	return Config{
		MinDur:        200 * time.Millisecond,
		ScanRows:      16 << 20,
		BulkRows:      16 << 20,
		SingleRows:    4 << 20,
		CommitBatches: map[int]int{1: 1000, 100: 20_000, 10_000: 200_000},
		LargeBytes:    1 << 30,
		JSONBytes:     64 << 20,
		ReaderRows:    16 << 20,
		LagRows:       2000,
		StringRows:    10 << 20,
	}
}

func QuickConfig() Config {
	return Config{
		Quick:         true,
		MinDur:        50 * time.Millisecond,
		ScanRows:      2 << 20,
		BulkRows:      2 << 20,
		SingleRows:    1 << 20,
		CommitBatches: map[int]int{1: 200, 100: 5_000, 10_000: 50_000},
		LargeBytes:    128 << 20,
		JSONBytes:     16 << 20,
		ReaderRows:    2 << 20,
		LagRows:       500,
		StringRows:    1 << 20,
	}
}

// Workloads lists every report row, in report order.
func Workloads(c Config) []*Workload {
	ws := []*Workload{ScanWorkload(c), BulkAppendWorkload(c)}
	ws = append(ws, SingleAppendWorkloads(c)...)
	ws = append(ws, CommitWorkloads(c)...)
	ws = append(ws, CommitLatencyWorkload(c), OpenWorkload(c), MemoryWorkload(c))
	ws = append(ws, ReadersAppendWorkload(c), ReaderLagWorkload(c), SnapshotWorkload(c), SchemaWorkload(c))
	ws = append(ws, StringIngestWorkload(c), StringScanWorkload(c), SymbolCountWorkload(c))
	ws = append(ws, ParquetExportWorkload(c), ParquetImportWorkload(c))
	ws = append(ws, sqlWorkloads(c)...)
	ws = append(ws, CowRouteWorkloads(c)...)
	return ws
}

// sizeName writes a row count the way the benchmark names do: 16M, 4k, 1000.
func sizeName(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.Itoa(n>>20) + "M"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.Itoa(n>>10) + "k"
	}
	return strconv.Itoa(n)
}

// bytesName writes a byte size as 1MiB, 1GiB.
func bytesName(n int) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return strconv.Itoa(n>>30) + "GiB"
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.Itoa(n>>20) + "MiB"
	}
	return strconv.Itoa(n) + "B"
}

// fillTable appends rows [0, n) in chunks, so that building a large fixture
// never holds all of it on the heap.
func fillTable(t *Table, n int) error {
	const chunk = 1 << 20
	for from := 0; from < n; from += chunk {
		if err := t.AppendRows(MakeRows(from, min(chunk, n-from))); err != nil {
			return err
		}
	}
	return t.Sync()
}
