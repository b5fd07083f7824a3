package bench

import (
	"errors"
	"fmt"
	"time"
)

// Unit says what one Case unit is, and so how a per-unit cost is shown.
type Unit int

const (
	PerRow  Unit = iota // ns per row, shown with rows/s
	PerByte             // ns per byte, shown as MB/s
	PerOp               // ns per operation
	Bytes               // a Probe's byte count
)

// Format renders a per-unit cost for people.
func (u Unit) Format(v float64) string {
	switch u {
	case PerRow:
		return fmt.Sprintf("%s/row (%s rows/s)", ns(v), si(1e9/v))
	case PerByte:
		return fmt.Sprintf("%.0f MB/s", 1e3/v)
	case PerOp:
		return ns(v)
	case Bytes:
		return iec(v)
	}
	return fmt.Sprint(v)
}

// Short renders a cost without the derived rate, for ranges.
func (u Unit) Short(v float64) string {
	if u == PerRow {
		return ns(v) + "/row"
	}
	return u.Format(v)
}

// Workload is one row of the report: the library case and the peers it is
// judged against, measured in the same process, round after round.
type Workload struct {
	Name string
	Size string
	Unit Unit
	// Lib names the library's case; ratios are taken against it.
	Lib   string
	Cases []*Case
	Goals []Goal
	Notes []string
	// Reps overrides the number of rounds for workloads too slow for the default.
	Reps int
	// BytesPerRow, for a PerRow workload, makes the figures show GB/s too.
	BytesPerRow int
	// FiguresOnly marks a workload whose cases are figures of the library
	// alone (percentiles of one measurement), not contenders: no ratios.
	FiguresOnly bool
	// Setup runs before any case's Setup, Teardown after every case's Teardown.
	Setup    func() error
	Teardown func() error
}

// Goal is a target for the library; Eval says what was measured and whether it holds.
type Goal struct {
	Text string
	Eval func(r *Result) (have string, met bool)
	// Peer and Want place the goal on the chart, as the library's advantage
	// over Peer that would meet it; empty for goals that are not a ratio.
	Peer string
	Want float64
}

// Result holds the samples of one Workload run.
type Result struct {
	W       *Workload
	Samples map[string][]Sample
	Err     error
}

// Median is the median cost of case name.
func (r *Result) Median(name string) float64 {
	var vs []float64
	for _, s := range r.Samples[name] {
		vs = append(vs, s.Value)
	}
	return Median(vs)
}

// MedianAllocs is the median allocation count per unit of case name.
func (r *Result) MedianAllocs(name string) float64 {
	var vs []float64
	for _, s := range r.Samples[name] {
		vs = append(vs, s.Allocs)
	}
	return Median(vs)
}

// Speedup is how many times cheaper the library is than peer (above 1: library better).
func (r *Result) Speedup(peer string) float64 {
	return r.Median(peer) / r.Median(r.W.Lib)
}

// Run measures every case of w reps times after a warm-up round, interleaving the cases inside each
// round so that drift of a noisy machine falls on all of them alike.
func (w *Workload) Run(reps int, minDur time.Duration) (res *Result) {
	if w.Reps > 0 && w.Reps < reps {
		reps = w.Reps
	}
	res = &Result{W: w, Samples: map[string][]Sample{}}
	var errs []error
	reached := 0 // cases whose Setup ran, and so need Teardown
	defer func() {
		for i := reached - 1; i >= 0; i-- {
			if td := w.Cases[i].Teardown; td != nil {
				errs = append(errs, td())
			}
		}
		if w.Teardown != nil {
			errs = append(errs, w.Teardown())
		}
		res.Err = errors.Join(errs...)
	}()
	if w.Setup != nil {
		if err := w.Setup(); err != nil {
			errs = append(errs, fmt.Errorf("%s: setup: %w", w.Name, err))
			return res
		}
	}
	for _, c := range w.Cases {
		reached++
		if c.Setup != nil {
			if err := c.Setup(); err != nil {
				errs = append(errs, fmt.Errorf("%s/%s: setup: %w", w.Name, c.Name, err))
				return res
			}
		}
	}
	// Round 0 is discarded: it pays for first-touch page faults (costly on
	// virtual machines), cold caches and lazy initialization in every store.
	for round := range reps + 1 {
		for _, c := range w.Cases {
			s, err := Measure(c, minDur)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", w.Name, err))
				return res
			}
			if round > 0 {
				res.Samples[c.Name] = append(res.Samples[c.Name], s)
			}
		}
	}
	return res
}

// FasterThan is the goal that the library be at least min times cheaper than peer.
func FasterThan(text, peer string, min float64) Goal {
	return Goal{Text: text, Peer: peer, Want: min, Eval: func(r *Result) (string, bool) {
		x := r.Speedup(peer)
		return fmt.Sprintf("%.2fx (goal %.2fx: %s)", x, min, distance(x, min)), x >= min
	}}
}

// distance says how far a speedup is from its goal, as a share of the goal.
func distance(have, want float64) string {
	if have >= want {
		return fmt.Sprintf("%.0f%% above", (have/want-1)*100)
	}
	return fmt.Sprintf("%.0f%% short", (1-have/want)*100)
}

// ns shows a duration in nanoseconds with about three significant digits.
func ns(v float64) string {
	switch {
	case v < 10:
		return fmt.Sprintf("%.2f ns", v)
	case v < 1e3:
		return fmt.Sprintf("%.0f ns", v)
	case v < 1e6:
		return fmt.Sprintf("%.1f µs", v/1e3)
	case v < 1e9:
		return fmt.Sprintf("%.1f ms", v/1e6)
	}
	return fmt.Sprintf("%.2f s", v/1e9)
}

func si(v float64) string {
	switch {
	case v >= 1e9:
		return fmt.Sprintf("%.2fG", v/1e9)
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

func iec(v float64) string {
	switch {
	case v >= 1<<30:
		return fmt.Sprintf("%.2f GiB", v/(1<<30))
	case v >= 1<<20:
		return fmt.Sprintf("%.2f MiB", v/(1<<20))
	case v >= 1<<10:
		return fmt.Sprintf("%.1f KiB", v/(1<<10))
	}
	return fmt.Sprintf("%.0f B", v)
}

// closer returns a Teardown that closes *p once, if it was ever opened.
func closer[T interface{ Close() error }](p *T) func() error {
	return func() error {
		var zero T
		c := *p
		if any(c) == any(zero) {
			return nil
		}
		*p = zero
		return c.Close()
	}
}
