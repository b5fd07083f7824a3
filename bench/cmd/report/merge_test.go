package main

import (
	"strings"
	"testing"

	"github.com/mmapvec/persistence/bench"
)

func oneResult(name string, lib, peer float64, goal bool) *bench.Result {
	w := &bench.Workload{Name: name, Size: "n=1", Unit: bench.PerOp, Lib: "lib", Reps: 3,
		Notes: []string{name + " notes."}, Cases: []*bench.Case{{Name: "lib"}, {Name: "peer"}}}
	if goal {
		w.Goals = []bench.Goal{bench.FasterThan(name+" ≥ 2x peer", "peer", 2)}
	}
	return &bench.Result{W: w, Samples: map[string][]bench.Sample{"lib": {{Value: lib}}, "peer": {{Value: peer}}}}
}

// TestMergeReplacesAndAppendsSections: a workload run alone replaces its
// section and goal row and keeps the others; a new one goes last, with its
// goal after the last row.
func TestMergeReplacesAndAppendsSections(t *testing.T) {
	full := env{Command: "cmd", Chart: "results.svg", Reps: 5, Revision: "aaa"}
	old := markdown([]*bench.Result{oneResult("A", 1, 3, true), oneResult("B", 1, 3, true), oneResult("C", 1, 5, false)}, full, bench.FullConfig())
	alone := env{Command: "cmd -run 'B|D' -merge", Reps: 5, Revision: "bbb", LoadStart: "0.10", LoadEnd: "0.20"}
	got := merge(old, []*bench.Result{oneResult("B", 1, 4, true), oneResult("D", 2, 20, true)}, alone, bench.FullConfig())

	for _, want := range []string{
		"| A ≥ 2x peer | 3.00x (goal 2.00x: 50% above) | **met** |\n| B ≥ 2x peer | 4.00x (goal 2.00x: 100% above) | **met** |\n| D ≥ 2x peer | 10.00x",
		"### A (n=1)\n\nA notes. \n\n| Contender",
		"### B (n=1)\n\nRun alone (`cmd -run 'B|D' -merge`) at commit bbb, ",
		"a discarded warm-up round, then 3 rounds; load average 0.10 at the start, 0.20 at the end.\n\nB notes. \n\n",
		"| peer | 4.00 ns | 4.00x | 1 samples, 4.00 ns to 4.00 ns |\n\n### C (n=1)",
		"| peer | 5.00 ns | 5.00x | 1 samples, 5.00 ns to 5.00 ns |\n\n### D (n=1)\n\nRun alone",
		"| peer | 20 ns | 10.00x | 1 samples, 20 ns to 20 ns |\n",
		"- Library: commit aaa\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the merged results.md lacks %q:\n%s", want, got)
		}
	}
	if strings.Count(got, "### B (") != 1 || strings.Contains(got, "3.00x | 1 samples, 3.00 ns to 3.00 ns |\n\n### C") || !strings.HasSuffix(got, "|\n") {
		t.Errorf("B's old section is kept, or the file ends badly:\n%s", got)
	}
	if again := merge(got, []*bench.Result{oneResult("B", 1, 4, true), oneResult("D", 2, 20, true)}, alone, bench.FullConfig()); again != got {
		t.Errorf("merging the same results twice changed the file:\n%s", again)
	}
}

// TestMergeKeysSectionsBySize: a workload run at two sizes keeps a section
// per size, each replaced by its own result.
func TestMergeKeysSectionsBySize(t *testing.T) {
	sized := func(size string, peer float64) *bench.Result {
		r := oneResult("A", 1, peer, false)
		r.W.Size = size
		return r
	}
	full := env{Command: "cmd", Reps: 5, Revision: "aaa"}
	old := markdown([]*bench.Result{sized("n=1", 3), sized("n=2", 5)}, full, bench.FullConfig())
	got := merge(old, []*bench.Result{sized("n=2", 7), sized("n=1", 6)}, env{Command: "cmd -merge", Reps: 5, Revision: "bbb"}, bench.FullConfig())
	for _, want := range []string{
		"### A (n=1)\n\nRun alone",
		"| peer | 6.00 ns | 6.00x | 1 samples, 6.00 ns to 6.00 ns |\n\n### A (n=2)\n\nRun alone",
		"| peer | 7.00 ns | 7.00x |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the merged results.md lacks %q:\n%s", want, got)
		}
	}
	if strings.Count(got, "### A (") != 2 {
		t.Errorf("not one section per size:\n%s", got)
	}
}
