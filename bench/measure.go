package bench

import (
	"fmt"
	"runtime"
	"slices"
	"time"
)

// Case is one contender of a workload. Only Run is timed; the rest prepares
// and clears what Run needs, so that file creation and data generation do not
// blur the comparison.
type Case struct {
	Name string
	// Units is the work one Run does (rows, bytes or operations); every figure
	// is per unit, so contenders of different sizes stay comparable.
	Units float64
	// Setup and Teardown run once per workload, Before and After around every Run.
	Setup    func() error
	Before   func() error
	Run      func() error
	After    func() error
	Teardown func() error
	// Self marks another figure of the library itself rather than a peer.
	Self bool
	// Probe, when set, replaces timing: it returns the figure itself
	// (for example heap bytes in use).
	Probe func() (float64, error)
}

// Sample is one measurement of a Case. Value is a cost per unit (ns, or bytes
// for a Probe): lower is better.
type Sample struct {
	Value  float64
	Allocs float64
}

// Measure takes one sample of c. A Run with no Before or After is repeated
// until minDur has passed, so that short kernels are not lost in timer noise.
func Measure(c *Case, minDur time.Duration) (Sample, error) {
	if c.Probe != nil {
		v, err := c.Probe()
		return Sample{Value: v}, err
	}
	if c.Before != nil {
		if err := c.Before(); err != nil {
			return Sample{}, fmt.Errorf("%s: before: %w", c.Name, err)
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	mallocs := ms.Mallocs
	start := time.Now()
	n := 0
	for {
		if err := c.Run(); err != nil {
			return Sample{}, fmt.Errorf("%s: %w", c.Name, err)
		}
		n++
		if c.Before != nil || c.After != nil || time.Since(start) >= minDur {
			break
		}
	}
	elapsed := time.Since(start)
	runtime.ReadMemStats(&ms)
	if c.After != nil {
		if err := c.After(); err != nil {
			return Sample{}, fmt.Errorf("%s: after: %w", c.Name, err)
		}
	}
	units := c.Units * float64(n)
	return Sample{
		Value:  float64(elapsed.Nanoseconds()) / units,
		Allocs: float64(ms.Mallocs-mallocs) / units,
	}, nil
}

// Median returns the median of xs (the mean of the middle two for even counts).
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}
