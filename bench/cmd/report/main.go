// Command report runs every benchmark workload of the library and its peers
// side by side in one process, prints medians and ratios, and writes
// results.md and results.svg.
//
// Usage, from the repository root:
//
//	go run ./bench/cmd/report [-quick] [-reps 5] [-run regexp [-merge]] [-out dir]
//
// With -run it writes no file, unless -merge puts the sections of the
// workloads it ran into results.md, in place of theirs (at full sizes only).
//
// Files go to PERSIST_BENCH_DIR or the system temp dir, which must be a real
// disk for the commit and open figures to mean anything.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mmapvec/persistence/bench"
)

func main() {
	bench.Child() // a workload's child process runs its role and exits here
	quick := flag.Bool("quick", false, "small sizes, about a minute")
	reps := flag.Int("reps", 5, "rounds per workload; each round measures every contender once")
	run := flag.String("run", "", "only workloads whose name matches this regexp (no files are written, unless -merge)")
	mergeRun := flag.Bool("merge", false, "with -run: put the sections of the workloads run into results.md, in place of theirs")
	out := flag.String("out", "", "directory for results.md and the chart (default: the bench module)")
	charts := flag.String("chart", "results.svg", "chart file names, comma-separated; .svg, .png or .pdf; results.md shows the first")
	flag.Parse()

	cfg := bench.FullConfig()
	if *quick {
		cfg = bench.QuickConfig()
	}
	filter, err := regexp.Compile(*run)
	if err != nil {
		fatal(err)
	}
	if *mergeRun && (*run == "" || *quick) {
		fatal(fmt.Errorf("-merge needs -run, and full sizes: the workloads it merges sit beside those of a full run"))
	}
	env := describe()
	if env.FS == "tmpfs" {
		fmt.Fprintf(os.Stderr, "warning: %s is tmpfs; set PERSIST_BENCH_DIR to a real disk\n", bench.Dir())
	}
	start := time.Now()
	var results []*bench.Result
	failed := false
	for _, w := range bench.Workloads(cfg) {
		if !filter.MatchString(w.Name) {
			continue
		}
		fmt.Fprintf(os.Stderr, "%-30s %-24s ", w.Name, w.Size)
		t := time.Now()
		r := w.Run(*reps, cfg.MinDur)
		fmt.Fprintf(os.Stderr, "%6.1fs\n", time.Since(t).Seconds())
		if r.Err != nil {
			failed = true
			fmt.Fprintf(os.Stderr, "  error: %v\n", r.Err)
		}
		results = append(results, r)
	}
	env.Elapsed, env.LoadEnd = time.Since(start), loadAvg()
	printTable(os.Stdout, results)
	dir := *out
	if dir == "" {
		dir = benchDir()
	}
	md := filepath.Join(dir, "results.md")
	cmd := "go run ./bench/cmd/report"
	if *quick {
		cmd += " -quick"
	}
	if *reps != 5 {
		cmd += fmt.Sprintf(" -reps %d", *reps)
	}
	if *mergeRun && !failed {
		env.Command, env.Reps = fmt.Sprintf("%s -run '%s' -merge", cmd, *run), *reps
		old, err := os.ReadFile(md)
		if err != nil {
			fatal(err)
		}
		if err := os.WriteFile(md, []byte(merge(string(old), results, env, cfg)), 0o644); err != nil {
			fatal(err)
		}
		fmt.Fprintf(os.Stderr, "merged %d workload(s) into %s\n", len(results), md)
	}
	if *run == "" {
		names := strings.Split(*charts, ",")
		env.Command, env.Reps, env.Chart = cmd, *reps, names[0]
		if err := os.WriteFile(md, []byte(markdown(results, env, cfg)), 0o644); err != nil {
			fatal(err)
		}
		for _, name := range names {
			if err := drawChart(results, filepath.Join(dir, name)); err != nil {
				fatal(err)
			}
		}
		fmt.Fprintf(os.Stderr, "wrote %s and %s in %.0fs\n", md, *charts, env.Elapsed.Seconds())
	}
	if failed {
		os.Exit(1)
	}
}

// printTable shows every median next to the library's advantage over it.
func printTable(w io.Writer, results []*bench.Result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "workload\tsize\tcontender\tmedian\tlibrary advantage")
	for _, r := range results {
		for _, c := range r.W.Cases {
			if len(r.Samples[c.Name]) == 0 {
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.W.Name, r.W.Size, c.Name, median(r, c.Name), ratio(r, c.Name))
		}
	}
	tw.Flush()
	fmt.Fprintln(w)
	for _, r := range results {
		for _, g := range r.W.Goals {
			if r.Err != nil {
				fmt.Fprintf(w, "%-8s %s\n", "ERROR", g.Text)
				continue
			}
			have, met := g.Eval(r)
			fmt.Fprintf(w, "%-8s %s: %s\n", verdict(met), g.Text, have)
		}
	}
}

// median shows the median cost of case name, with its bandwidth for
// workloads whose rows have a size.
func median(r *bench.Result, name string) string {
	m := r.Median(name)
	s := r.W.Unit.Format(m)
	if r.W.Unit == bench.PerRow && r.W.BytesPerRow > 0 {
		s += fmt.Sprintf(", %.2f GB/s", float64(r.W.BytesPerRow)/m)
	}
	return s
}

// ratio is the library's advantage over case name: peer cost / library cost.
func ratio(r *bench.Result, name string) string {
	if name == r.W.Lib {
		return "(library)"
	}
	if len(r.Samples[r.W.Lib]) == 0 || r.W.FiguresOnly {
		return "-"
	}
	return fmt.Sprintf("%.2fx", r.Speedup(name))
}

func verdict(met bool) string {
	if met {
		return "MET"
	}
	return "MISSED"
}

// benchDir finds the bench module from the repository root or from inside it.
func benchDir() string {
	if _, err := os.Stat(filepath.Join("bench", "go.mod")); err == nil {
		return "bench"
	}
	if b, err := os.ReadFile("go.mod"); err == nil && strings.Contains(string(b), "persistence/bench") {
		return "."
	}
	return "."
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "report:", err)
	os.Exit(2)
}
