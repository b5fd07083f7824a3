package main

import (
	"fmt"
	"strings"

	"github.com/mmapvec/persistence/bench"
)

// merge puts the sections and goal rows of the workloads in results, run
// alone (-run with -merge), into old, the results.md of an earlier full
// run: each replaces the section of the same workload, or follows the
// last one, and says how and when it was run, since the header and the
// chart stay those of the full run.
func merge(old string, results []*bench.Result, e env, cfg bench.Config) string {
	fresh := markdown(results, e, cfg)
	out := old
	for _, r := range results {
		// One workload runs at several sizes (Append + commit): its
		// heading, name and size, names its section.
		heading := r.W.Name + " (" + r.W.Size + ")"
		sec, ok := section(fresh, heading)
		if !ok {
			continue
		}
		rounds := e.Reps
		if n := r.W.Reps; n > 0 && n < rounds {
			rounds = n
		}
		head, body, _ := strings.Cut(sec, "\n\n")
		sec = fmt.Sprintf("%s\n\nRun alone (`%s`) at commit %s, %s: a discarded warm-up round, then %d rounds; load average %s at the start, %s at the end.\n\n%s",
			head, e.Command, e.Revision, e.Date.Format("2006-01-02 15:04 UTC"), rounds, e.LoadStart, e.LoadEnd, body)
		if at, ok := sectionAt(out, heading); ok {
			end := at + len(sectionFrom(out[at:]))
			out = out[:at] + sec + out[end:]
		} else {
			out = strings.TrimRight(out, "\n") + "\n\n" + strings.TrimRight(sec, "\n") + "\n"
		}
		for _, g := range r.W.Goals {
			out = mergeGoal(out, fresh, g.Text)
		}
	}
	return out
}

// sectionAt is where the section headed "### heading" starts in md.
func sectionAt(md, heading string) (int, bool) {
	at := strings.Index(md, "\n### "+heading+"\n")
	if at < 0 {
		return 0, false
	}
	return at + 1, true
}

// section is the section headed "### heading" in md, heading included.
func section(md, heading string) (string, bool) {
	at, ok := sectionAt(md, heading)
	if !ok {
		return "", false
	}
	return sectionFrom(md[at:]), true
}

// sectionFrom cuts s, which starts at a section's heading, before the
// newline that precedes the next heading of its level or above.
func sectionFrom(s string) string {
	end := len(s)
	for _, h := range []string{"\n### ", "\n## "} {
		if i := strings.Index(s[1:], h); i >= 0 {
			end = min(end, i+1)
		}
	}
	return s[:end]
}

// mergeGoal replaces the row of goal text in md's goal table with fresh's,
// or adds it after the last row.
func mergeGoal(md, fresh, text string) string {
	prefix := "| " + text + " |"
	row := lineWith(fresh, prefix)
	if row == "" {
		return md
	}
	if old := lineWith(md, prefix); old != "" {
		return strings.Replace(md, old, row, 1)
	}
	goals := strings.Index(md, "## Goals\n")
	if goals < 0 {
		return md
	}
	end := strings.Index(md[goals:], "\n\n## ")
	if end < 0 {
		return md
	}
	at := goals + end + 1
	return md[:at] + row + "\n" + md[at:]
}

// lineWith is the first line of s that starts with prefix, "" if none.
func lineWith(s, prefix string) string {
	for line := range strings.Lines(s) {
		if strings.HasPrefix(line, prefix) {
			return strings.TrimSuffix(line, "\n")
		}
	}
	return ""
}
