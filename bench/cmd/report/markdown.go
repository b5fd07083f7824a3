package main

import (
	"fmt"
	"strings"

	"github.com/mmapvec/persistence/bench"
)

// markdown renders results.md: how the run was made, every goal with its
// verdict, then each workload's medians and ratios.
func markdown(results []*bench.Result, e env, cfg bench.Config) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("# Benchmark results\n\n")
	p("Every workload runs the library and its peers in one process (the readers beside a writer are child processes of it): a discarded warm-up round, then %d rounds%s, each measuring every contender once in turn; figures are medians. ", e.Reps, fewerRounds(results, e.Reps))
	p("The machine is shared and noisy, so read the ratios rather than the absolute times.\n\n")
	p("- Command: `%s` (from the repository root; `-quick` for a short run)\n", e.Command)
	p("- Date: %s, took %.0f s\n", e.Date.Format("2006-01-02 15:04 UTC"), e.Elapsed.Seconds())
	p("- Library: commit %s\n", e.Revision)
	p("- Go: %s\n", e.GoVersion)
	p("- CPU: %s, %d cores; memory %.0f GiB; load average %s at the start, %s at the end\n", e.CPU, e.Cores, e.MemGiB, e.LoadStart, e.LoadEnd)
	p("- Files: system temp dir (or PERSIST_BENCH_DIR), file system %s\n", e.FS)
	if cfg.Quick {
		p("- Sizes: quick (smaller than the goals are stated for)\n")
	}
	p("\n![Library advantage over each peer](%s)\n\n", e.Chart)
	p("A ratio is the peer's cost divided by the library's (time per row or byte, or heap bytes): above 1 the library is ahead.\n\n")

	p("## Goals\n\n| Goal | Measured | Verdict |\n| --- | --- | --- |\n")
	for _, r := range results {
		for _, g := range r.W.Goals {
			if r.Err != nil {
				p("| %s | run failed: %s | not measured |\n", g.Text, cell(r.Err.Error()))
				continue
			}
			have, met := g.Eval(r)
			v := "missed"
			if met {
				v = "**met**"
			}
			p("| %s | %s | %s |\n", g.Text, have, v)
		}
	}

	p("\n## Workloads\n")
	for _, r := range results {
		p("\n### %s (%s)\n\n", r.W.Name, r.W.Size)
		for _, n := range r.W.Notes {
			p("%s ", n)
		}
		if len(r.W.Notes) > 0 {
			p("\n\n")
		}
		if r.Err != nil {
			p("The run failed: `%s`\n\n", cell(r.Err.Error()))
		}
		p("| Contender | Median | Library advantage | Range of samples |\n| --- | --- | --- | --- |\n")
		for _, c := range r.W.Cases {
			ss := r.Samples[c.Name]
			if len(ss) == 0 {
				continue
			}
			med := median(r, c.Name)
			if r.W.Unit == bench.PerRow {
				med += fmt.Sprintf(", %.3f allocs/row", r.MedianAllocs(c.Name))
			}
			name := c.Name
			if name == r.W.Lib {
				name = "**" + name + "**"
			}
			p("| %s | %s | %s | %s |\n", name, med, ratio(r, c.Name), spread(r.W.Unit, ss))
		}
	}
	return b.String()
}

// fewerRounds names the workloads run with fewer rounds than reps, as
// " (3 for Open and Memory)".
func fewerRounds(results []*bench.Result, reps int) string {
	byReps := map[int][]string{}
	var counts []int
	for _, r := range results {
		if n := r.W.Reps; n > 0 && n < reps {
			if byReps[n] == nil {
				counts = append(counts, n)
			}
			byReps[n] = append(byReps[n], r.W.Name)
		}
	}
	var parts []string
	for _, n := range counts {
		names := byReps[n]
		list := names[0]
		if k := len(names); k > 1 {
			list = strings.Join(names[:k-1], ", ") + " and " + names[k-1]
		}
		parts = append(parts, fmt.Sprintf("%d for %s", n, list))
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, "; ") + ")"
}

func cell(s string) string { return strings.ReplaceAll(strings.ReplaceAll(s, "|", "\\|"), "\n", " ") }

// spread shows the lowest and highest sample, so that noise can be judged.
func spread(u bench.Unit, ss []bench.Sample) string {
	lo, hi := ss[0].Value, ss[0].Value
	for _, s := range ss {
		lo, hi = min(lo, s.Value), max(hi, s.Value)
	}
	if u == bench.PerByte {
		lo, hi = hi, lo // a rate rises as the cost falls
	}
	return fmt.Sprintf("%d samples, %s to %s", len(ss), u.Short(lo), u.Short(hi))
}
