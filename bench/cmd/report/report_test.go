package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmapvec/persistence/bench"
)

func fakeResults() []*bench.Result {
	w := &bench.Workload{
		Name: "Scan", Size: "rows=4", Unit: bench.PerByte, Lib: "lib",
		Cases: []*bench.Case{{Name: "lib"}, {Name: "peer"}},
		Goals: []bench.Goal{bench.FasterThan("lib ≥ 2x peer", "peer", 2)},
	}
	return []*bench.Result{{W: w, Samples: map[string][]bench.Sample{
		"lib":  {{Value: 1}, {Value: 2}, {Value: 1}},
		"peer": {{Value: 3}, {Value: 3}, {Value: 4}},
	}}}
}

func TestMarkdownReportsRatiosAndVerdicts(t *testing.T) {
	md := markdown(fakeResults(), env{Command: "cmd", Chart: "results.svg", Reps: 3}, bench.FullConfig())
	for _, want := range []string{"| lib ≥ 2x peer | 3.00x", "**met**", "| peer | 333 MB/s | 3.00x | 3 samples, 250 MB/s to 333 MB/s |", "![Library advantage over each peer](results.svg)"} {
		if !strings.Contains(md, want) {
			t.Errorf("results.md lacks %q:\n%s", want, md)
		}
	}
}

func TestChartIsWritten(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chart.svg")
	if err := drawChart(fakeResults(), path); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(path); err != nil || !strings.Contains(string(b), "<svg") {
		t.Fatalf("chart: %d bytes, %v", len(b), err)
	}
}

func TestMarkdownShowsBandwidthFiguresAndRounds(t *testing.T) {
	rows := &bench.Workload{Name: "Rows", Size: "rows=2", Unit: bench.PerRow, BytesPerRow: 32, Lib: "lib", Reps: 3,
		Cases: []*bench.Case{{Name: "lib"}, {Name: "other"}}}
	figs := &bench.Workload{Name: "Figures", Size: "n=1", Unit: bench.PerOp, Lib: "p50", FiguresOnly: true, Reps: 3,
		Cases: []*bench.Case{{Name: "p50"}, {Name: "p99"}}}
	results := []*bench.Result{
		{W: rows, Samples: map[string][]bench.Sample{"lib": {{Value: 32}}, "other": {{Value: 64}}}},
		{W: figs, Samples: map[string][]bench.Sample{"p50": {{Value: 10}}, "p99": {{Value: 100}}}},
	}
	md := markdown(results, env{Command: "cmd", Chart: "results.svg", Reps: 5}, bench.FullConfig())
	for _, want := range []string{"then 5 rounds (3 for Rows and Figures)", "32 ns/row (31.25M rows/s), 1.00 GB/s", "| other | 64 ns/row (15.62M rows/s), 0.50 GB/s, 0.000 allocs/row | 2.00x |", "| p99 | 100 ns | - |"} {
		if !strings.Contains(md, want) {
			t.Errorf("results.md lacks %q:\n%s", want, md)
		}
	}
}
