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
