package bench

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mmapvec/persistence/table"
)

// Readers beside a writer: what readers in other processes cost the writer,
// and how soon they see its rows.

const (
	// readerBatch is the rows per AppendRows call of the writer.
	readerBatch = 4096
	// sideReaders is how many reader processes refresh beside the writer.
	sideReaders = 4
	// readerPause is a polling reader's sleep between Refresh calls.
	readerPause = time.Millisecond
	// lagPause is the writer's sleep between the rows whose lag is
	// measured: long enough that each row finds its reader waiting.
	lagPause = 250 * time.Microsecond
)

// ReadersAppendWorkload times the writer's AppendRows, in batches of
// readerBatch rows, with sideReaders reader processes refreshing every
// millisecond and summing the ID column over the rows each Refresh brings,
// against the same appends with no reader, and with readers that only
// Refresh.
func ReadersAppendWorkload(c Config) *Workload {
	n := c.ReaderRows
	var dir string
	var rows []Row
	var tab *Table
	var kids []*childProc
	var polls, reads []float64 // per reader and run, for the notes
	tabDir := func() string { return filepath.Join(dir, "table") }
	open := func() (err error) {
		if err := freshDir(tabDir()); err != nil {
			return err
		}
		tab, err = OpenTable(tabDir())
		return err
	}
	appendAll := func() error {
		for from := 0; from < n; from += readerBatch {
			if err := tab.AppendRows(rows[from:min(from+readerBatch, n)]); err != nil {
				return err
			}
		}
		return nil
	}
	finish := func() error {
		var err error
		if tab.Len() != n {
			err = fmt.Errorf("table holds %d rows, want %d", tab.Len(), n)
		}
		return errors.Join(err, closer(&tab)(), os.RemoveAll(tabDir()))
	}
	// withReaders is a case whose readers sum the new rows of each Refresh,
	// or with idle only Refresh.
	withReaders := func(name string, idle bool) *Case {
		role := "sum:" + readerPause.String()
		if idle {
			role = "refresh:" + readerPause.String()
		}
		return &Case{Name: name, Units: float64(n), Self: idle,
			Before: func() error {
				if err := open(); err != nil {
					return err
				}
				for range sideReaders {
					k, err := startChild(role, tabDir())
					if err != nil {
						return err
					}
					kids = append(kids, k)
				}
				return nil
			},
			Run: appendAll,
			After: func() error {
				figs, err := stopAll(kids)
				kids = nil
				want := int64(n) * int64(n-1) / 2 // the sum of IDs 0..n-1
				if idle {
					want = 0
				}
				for i, f := range figs {
					if f == nil {
						continue
					}
					if f["rows"] != int64(n) || f["sum"] != want {
						err = errors.Join(err, fmt.Errorf("reader %d saw %d rows summing to %d, want %d and %d", i, f["rows"], f["sum"], n, want))
					}
					if !idle {
						polls, reads = append(polls, float64(f["polls"])), append(reads, float64(f["reads"]))
					}
				}
				return errors.Join(err, finish())
			}}
	}
	const lib, peer = "AppendRows, 4 readers refreshing", "AppendRows, no reader"
	const quiet = "AppendRows, 4 readers refreshing without reading rows"
	w := &Workload{
		Name: "Append beside readers", Size: fmt.Sprintf("rows=%s batch=%d", sizeName(n), readerBatch),
		Unit: PerRow, BytesPerRow: RowSize, Lib: lib,
		Setup: func() (err error) {
			rows = MakeRows(0, n)
			dir, err = TempDir("readers")
			return err
		},
		Teardown: func() error {
			killAll(kids)
			rows, kids = nil, nil
			return os.RemoveAll(dir)
		},
		Cases: []*Case{
			withReaders(lib, false),
			withReaders(quiet, true),
			{Name: peer, Units: float64(n), Before: open, Run: appendAll, After: finish},
		},
		Goals: []Goal{FasterThan("append with 4 readers refreshing ≥ 0.9x the rows/s with none", peer, 0.9)},
	}
	w.Notes = []string{fmt.Sprintf("The writer appends %d 32-byte rows (4 columns) to a new table, growth included, in AppendRows calls of %d rows, without Sync. "+
		"The readers are separate processes (this program run again), started before the appends and stopped after them, untimed: each opens the table read-only, then calls Refresh, sums the ID column over the rows it brought, and sleeps %v, until the writer is done; each must have summed every ID exactly once. "+
		"A ratio of 1x means the readers cost the writer nothing. The third line has readers that only call Refresh and sleep, reading no row: it parts what waking four processes a thousand times a second costs the writer on 2 cores from what reading the rows adds.", n, readerBatch, readerPause)}
	base := len(w.Notes)
	// The readers' own figures, known after the run.
	w.Teardown = chain(w.Teardown, func() error {
		if len(polls) > 0 {
			w.Notes = append(w.Notes[:base], fmt.Sprintf("Per run, each reader called Refresh a median of %.0f times and found new rows in %.0f of them (%s rows each).",
				Median(polls), Median(reads), si(float64(n)/Median(reads))))
		}
		return nil
	})
	return w
}

// ReaderLagWorkload measures how long rows take to reach a reader in
// another process: the writer stamps each row with CLOCK_MONOTONIC just
// before appending it, one row at a time with a pause after each, and the
// reader, on seeing new rows after a Refresh, reads the clock again.
func ReaderLagWorkload(c Config) *Workload {
	n := c.LagRows
	var dir string
	var tab *Table
	var busy, polled map[string]int64
	session := func(poll time.Duration) (figs map[string]int64, err error) {
		sub := filepath.Join(dir, "table")
		if err := freshDir(sub); err != nil {
			return nil, err
		}
		if tab, err = OpenTable(sub); err != nil {
			return nil, err
		}
		defer func() { err = errors.Join(err, closer(&tab)(), os.RemoveAll(sub)) }()
		k, err := startChild("lag:"+poll.String(), sub)
		if err != nil {
			return nil, err
		}
		for i := range n {
			r := MakeRow(i)
			r.TS = monoNow()
			if err := tab.Append(r); err != nil {
				k.kill()
				return nil, err
			}
			sleepFine(lagPause)
		}
		if figs, err = k.stop(); err == nil && figs["rows"] != int64(n) {
			err = fmt.Errorf("the reader saw %d rows, want %d", figs["rows"], n)
		}
		return figs, err
	}
	probe := func(poll time.Duration, keep *map[string]int64) func() (float64, error) {
		return func() (float64, error) {
			figs, err := session(poll)
			*keep = figs
			return float64(figs["p50"]), err
		}
	}
	last := func(figs *map[string]int64, key string) func() (float64, error) {
		return func() (float64, error) { return float64((*figs)[key]), nil }
	}
	const lib = "busy Refresh loop: median"
	return &Workload{
		Name: "Reader lag", Size: fmt.Sprintf("rows=%d", n), Unit: PerOp, Lib: lib, FiguresOnly: true,
		Notes: []string{fmt.Sprintf("From the writer stamping a row with CLOCK_MONOTONIC (comparable across processes on Linux) to a reader in another process seeing it. "+
			"The writer reads the clock, Appends that one row (its release store publishes the count) and sleeps %v; the reader calls Refresh, and when the count has grown reads the clock once for all the new rows. "+
			"So the figures include both clock reads (a system call each, timed below), the Append, the Refresh (with a new mapping of any column file that grew), the reader's pause between polls, and any time either process waited for one of the 2 cores. "+
			"Each round appends %d rows to a new table with a new reader process; a figure is the median over rounds of that round's percentile. "+
			"Time per poll is the reader's running time over its Refresh calls: in the busy loop the cost of one poll, with time.Sleep(1ms) the real interval (Go's timers wake in whole milliseconds on Linux).", lagPause, n)},
		Setup: func() (err error) {
			dir, err = TempDir("lag")
			return err
		},
		Teardown: func() error { return os.RemoveAll(dir) },
		Cases: []*Case{
			{Name: lib, Probe: probe(0, &busy)},
			{Name: "busy Refresh loop: 99th percentile", Self: true, Probe: last(&busy, "p99")},
			{Name: "busy Refresh loop: time per poll", Self: true, Probe: last(&busy, "perpoll")},
			{Name: "Refresh every 1 ms: median", Self: true, Probe: probe(readerPause, &polled)},
			{Name: "Refresh every 1 ms: 99th percentile", Self: true, Probe: last(&polled, "p99")},
			{Name: "Refresh every 1 ms: time per poll", Self: true, Probe: last(&polled, "perpoll")},
			{Name: "clock_gettime(CLOCK_MONOTONIC)", Self: true, Units: 1,
				Run: func() error { clockSink += monoNow(); return nil }},
		},
	}
}

// clockSink keeps the clock reads of the timed case from being dropped.
var clockSink int64

// monoNow is CLOCK_MONOTONIC in nanoseconds, which every process of the
// machine reads alike (Go's monotonic clock is private to a process).
func monoNow() int64 {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts) != nil {
		return 0
	}
	return ts.Nano()
}

// sleepFine sleeps for about d, without the millisecond granularity of
// time.Sleep on Linux (whose timers wait in epoll_wait, in milliseconds).
func sleepFine(d time.Duration) {
	end := monoNow() + d.Nanoseconds()
	for {
		left := end - monoNow()
		if left <= 0 {
			return
		}
		tv := unix.NsecToTimeval(left)
		unix.Select(0, nil, nil, nil, &tv) // EINTR (a preemption signal) loops
	}
}

// chain runs a, then b, and joins their errors.
func chain(a, b func() error) func() error {
	return func() error { return errors.Join(a(), b()) }
}

// openReaderTable opens the table in dir as a reader.
func openReaderTable(dir string) (*table.Table[Row], error) {
	return table.Open[Row](dir, &table.Options{ReadOnly: true})
}

// sumReader is a reader child of ReadersAppendWorkload: Refresh, sum the
// IDs of the new rows (unless idle), sleep, until stop; then once more.
func sumReader(dir string, pause time.Duration, idle bool, stop *atomic.Bool) error {
	t, err := openReaderTable(dir)
	if err != nil {
		return err
	}
	defer t.Close()
	ids, err := table.Column[int64](t, "ID")
	if err != nil {
		return err
	}
	fmt.Println("ready")
	var seen, polls, reads int
	var sum int64
	for {
		last := stop.Load() // the writer was done before this Refresh
		if err := t.Refresh(); err != nil {
			return err
		}
		polls++
		if n := t.Len(); n != seen {
			if n < seen {
				return fmt.Errorf("the row count went down from %d to %d", seen, n)
			}
			if !idle {
				sum += SumInt64(ids.Slice()[seen:n])
			}
			seen = n
			reads++
		}
		if last {
			break
		}
		time.Sleep(pause)
	}
	fmt.Println(doneLine("rows", seen, "sum", sum, "polls", polls, "reads", reads))
	return t.Close()
}

// lagReader is the reader child of ReaderLagWorkload: it polls with pause
// between Refresh calls (none: a busy loop) and reports percentiles of the
// time from each row's stamp to the clock read after the Refresh that
// brought it.
func lagReader(dir string, pause time.Duration, stop *atomic.Bool) error {
	t, err := openReaderTable(dir)
	if err != nil {
		return err
	}
	defer t.Close()
	stamps, err := table.Column[int64](t, "TS")
	if err != nil {
		return err
	}
	fmt.Println("ready")
	var lags []int64
	seen, polls, start := 0, 0, monoNow()
	for {
		last := stop.Load()
		if err := t.Refresh(); err != nil {
			return err
		}
		polls++
		if n := t.Len(); n > seen {
			now := monoNow()
			for _, at := range stamps.Slice()[seen:n] {
				lags = append(lags, now-at)
			}
			seen = n
		}
		if last {
			break
		}
		if pause > 0 {
			time.Sleep(pause)
		}
	}
	perPoll := (monoNow() - start) / int64(polls)
	slices.Sort(lags)
	fmt.Println(doneLine("rows", seen, "p50", percentile(lags, 0.50), "p99", percentile(lags, 0.99), "max", percentile(lags, 1), "perpoll", perPoll))
	return t.Close()
}

// percentile is the nearest-rank q-quantile of sorted xs (0 for none).
func percentile(xs []int64, q float64) int64 {
	if len(xs) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(xs)))) - 1
	return xs[min(max(i, 0), len(xs)-1)]
}
