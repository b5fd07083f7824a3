package bench

import (
	"strings"
	"testing"
)

// The Go benchmarks run the same workloads as the report, one sub-benchmark
// per contender named by size and contender, e.g. Scan/rows=16M/heap_slices.
// go test -short uses the quick sizes. The report interleaves contenders and
// takes medians; these are for profiling one contender at a time.

func config() Config {
	if testing.Short() {
		return QuickConfig()
	}
	return FullConfig()
}

func BenchmarkScan(b *testing.B)       { runWorkload(b, ScanWorkload(config())) }
func BenchmarkBulkAppend(b *testing.B) { runWorkload(b, BulkAppendWorkload(config())) }
func BenchmarkSingleRowAppend(b *testing.B) {
	runWorkload(b, SingleAppendWorkloads(config())[0])
}
func BenchmarkArkBatch(b *testing.B) { runWorkload(b, SingleAppendWorkloads(config())[1]) }
func BenchmarkArkQuery(b *testing.B) { runWorkload(b, SingleAppendWorkloads(config())[2]) }
func BenchmarkAppendCommit(b *testing.B) {
	for _, w := range CommitWorkloads(config()) {
		runWorkload(b, w)
	}
}
func BenchmarkCommitLatency(b *testing.B) { runWorkload(b, CommitLatencyWorkload(config())) }
func BenchmarkOpen(b *testing.B)          { runWorkload(b, OpenWorkload(config())) }
func BenchmarkMemory(b *testing.B)        { runWorkload(b, MemoryWorkload(config())) }

// runWorkload sets up w once and runs each case as a sub-benchmark, with
// Before and After outside the timer.
func runWorkload(b *testing.B, w *Workload) {
	if w.Setup != nil {
		if err := w.Setup(); err != nil {
			b.Fatal(err)
		}
	}
	if w.Teardown != nil {
		defer func() {
			if err := w.Teardown(); err != nil {
				b.Error(err)
			}
		}()
	}
	for _, c := range w.Cases {
		b.Run(strings.ReplaceAll(w.Size, " ", "_")+"/"+c.Name, func(b *testing.B) { runCase(b, w.Unit, c) })
	}
}

func runCase(b *testing.B, unit Unit, c *Case) {
	if c.Setup != nil {
		if err := c.Setup(); err != nil {
			b.Fatal(err)
		}
	}
	if c.Teardown != nil {
		defer func() {
			if err := c.Teardown(); err != nil {
				b.Error(err)
			}
		}()
	}
	b.ReportAllocs()
	if unit == PerByte {
		b.SetBytes(int64(c.Units))
	}
	var probed float64
	step := func(f func() error) {
		if f == nil {
			return
		}
		b.StopTimer()
		if err := f(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	for b.Loop() {
		if c.Probe != nil {
			v, err := c.Probe()
			if err != nil {
				b.Fatal(err)
			}
			probed = v
			continue
		}
		step(c.Before)
		if err := c.Run(); err != nil {
			b.Fatal(err)
		}
		step(c.After)
	}
	switch {
	case c.Probe != nil && unit == Bytes:
		b.ReportMetric(probed, "heap-B")
	case c.Probe != nil:
		b.ReportMetric(probed, "probe-ns")
	case unit == PerRow:
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/(c.Units*float64(b.N)), "ns/row")
	}
}
