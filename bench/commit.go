package bench

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/mmapvec/persistence/table"
)

// Committer appends a batch of rows and makes it durable before returning:
// the shape of append+commit for every store compared.
type Committer interface {
	Commit(rs []Row) error
	Rows() (int, error)
	Close() error
}

// CommitAll feeds rs to c in batches of batch rows.
func CommitAll(c Committer, rs []Row, batch int) error {
	for from := 0; from < len(rs); from += batch {
		if err := c.Commit(rs[from:min(from+batch, len(rs))]); err != nil {
			return err
		}
	}
	return nil
}

// PageSync is the floor of commit latency: one 4096-byte page rewritten at
// offset 0 and fdatasync'd, the least any durable commit can cost on this disk.
type PageSync struct {
	f    *os.File
	page []byte
}

func NewPageSync(path string) (*PageSync, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	p := &PageSync{f: f, page: make([]byte, 4096)}
	// The first sync allocates the block; later ones only overwrite it.
	if err := p.Commit(); err != nil {
		f.Close()
		return nil, err
	}
	return p, nil
}

func (p *PageSync) Commit() error {
	p.page[0]++
	if _, err := unix.Pwrite(int(p.f.Fd()), p.page, 0); err != nil {
		return err
	}
	return unix.Fdatasync(int(p.f.Fd()))
}

func (p *PageSync) Close() error { return p.f.Close() }

// CommitWorkloads measure rows/s when every batch must be durable before the
// next, for each batch size of c.CommitBatches.
func CommitWorkloads(c Config) []*Workload {
	var ws []*Workload
	for _, b := range slices.Sorted(maps.Keys(c.CommitBatches)) {
		ws = append(ws, commitWorkload(b, c.CommitBatches[b]))
	}
	return append(ws, GroupCommitWorkload(c.CommitBatches[1]/4))
}

func commitWorkload(batch, n int) *Workload {
	var dir string
	var rows []Row
	var store Committer
	storeCase := func(name string, open func(dir string) (Committer, error)) *Case {
		sub := func() string { return filepath.Join(dir, "store") }
		return &Case{Name: name, Units: float64(n),
			Before: func() (err error) {
				if err := freshDir(sub()); err != nil {
					return err
				}
				store, err = open(sub())
				return err
			},
			Run: func() error { return CommitAll(store, rows, batch) },
			After: func() error {
				got, err := store.Rows()
				if err == nil && got != n {
					err = fmt.Errorf("%s holds %d rows, want %d", name, got, n)
				}
				return errors.Join(err, closer(&store)(), os.RemoveAll(sub()))
			}}
	}
	const lib = "table Append+Sync"
	return &Workload{
		Name: "Append + commit", Size: fmt.Sprintf("batch=%d rows=%d", batch, n), Unit: PerRow, Lib: lib,
		Notes: []string{
			"Each batch is durable before the next starts: table Sync; bbolt Update (fdatasync per Update); SQLite in WAL mode with synchronous=FULL, one transaction per batch; DuckDB appender Flush, an autocommit that fsyncs DuckDB's WAL.",
			"With small batches every store waits for at least one device flush per commit (Commit latency shows that floor on this disk), so the ratios there compare overhead above the flush rather than append speed.",
		},
		Setup: func() (err error) {
			rows = MakeRows(0, n)
			dir, err = TempDir("commit")
			return err
		},
		Teardown: func() error { return os.RemoveAll(dir) },
		Cases: []*Case{
			storeCase(lib, func(d string) (Committer, error) { return OpenTable(d) }),
			storeCase("bbolt Update", func(d string) (Committer, error) { return OpenBolt(filepath.Join(d, "bolt.db")) }),
			storeCase("SQLite tx", func(d string) (Committer, error) { return OpenSQLite(filepath.Join(d, "sqlite.db")) }),
			storeCase("DuckDB appender Flush", func(d string) (Committer, error) { return OpenDuckDB(filepath.Join(d, "duck.db")) }),
		},
		Goals: commitGoals(batch),
	}
}

// commitGoals are the goals of Append + commit for a batch size: one row
// per commit pays a device flush everywhere, so the ratios there measure
// how many flushes and how much work besides each store spends.
func commitGoals(batch int) []Goal {
	goal := func(peer, what string, x float64) Goal {
		return FasterThan(fmt.Sprintf("append+commit (batch %d) ≥ %gx %s", batch, x, what), peer, x)
	}
	switch batch {
	case 1:
		return []Goal{goal("bbolt Update", "bbolt", 1.5), goal("SQLite tx", "SQLite", 1.3)}
	case 10_000:
		return []Goal{goal("bbolt Update", "bbolt", 5), goal("SQLite tx", "SQLite", 15), goal("DuckDB appender Flush", "DuckDB appender", 3)}
	}
	return []Goal{goal("bbolt Update", "bbolt", 50), goal("SQLite tx", "SQLite", 20), goal("DuckDB appender Flush", "DuckDB appender", 2)}
}

// CommitLatencyWorkload times one small change made durable on an
// eight-column table (a row appended, or a row set in place), against the
// floor of one page write and fdatasync into a preallocated file.
func CommitLatencyWorkload(c Config) *Workload {
	var dir string
	var wide *table.Table[Wide]
	var page *PageSync
	var i int64
	const lib, set, peer = "table Append+Sync (8 columns)", "table SetRow+Sync (8 columns)", "pwrite 4KiB + fdatasync"
	openWide := func() (err error) {
		if err := freshDir(filepath.Join(dir, "table")); err != nil {
			return err
		}
		if wide, err = OpenWideTable(filepath.Join(dir, "table")); err != nil {
			return err
		}
		// The first Sync of an open is a checkpoint: leave it out.
		for range 1000 {
			i++
			if err := wide.Append(Wide{i, i, i, i, i, i, i, i}); err != nil {
				return err
			}
		}
		return wide.Sync()
	}
	return &Workload{
		Name: "Commit latency", Size: "1 row", Unit: PerOp, Lib: lib,
		Notes: []string{
			"A small Sync writes one record to the table's write-ahead log and fdatasyncs that one file; every few thousand Syncs (when the 8 MiB log is full) one of them checkpoints, flushing every column, and that cost is in the median's neighbours, not hidden.",
		},
		Setup: func() (err error) {
			dir, err = TempDir("latency")
			return err
		},
		Teardown: func() error { return os.RemoveAll(dir) },
		Cases: []*Case{
			{Name: lib, Units: 1, Setup: openWide,
				Run: func() error {
					i++
					if err := wide.Append(Wide{i, i, i, i, i, i, i, i}); err != nil {
						return err
					}
					return wide.Sync()
				},
				Teardown: closer(&wide)},
			{Name: set, Units: 1, Self: true, Setup: openWide,
				Run: func() error {
					i++
					if err := wide.SetRow(int(i%int64(wide.Len())), Wide{i, i, i, i, i, i, i, i}); err != nil {
						return err
					}
					return wide.Sync()
				},
				Teardown: closer(&wide)},
			{Name: peer, Units: 1,
				Setup: func() (err error) {
					page, err = NewPageSync(filepath.Join(dir, "page"))
					return err
				},
				Run:      func() error { return page.Commit() },
				Teardown: closer(&page)},
		},
		Goals: []Goal{latencyGoal(lib, peer), latencyGoal(set, peer)},
	}
}

func latencyGoal(lib, peer string) Goal {
	return Goal{
		Text: lib + " ≤ 1.3x one write+fdatasync", Peer: peer, Want: 1 / 1.3,
		Eval: func(r *Result) (string, bool) {
			x := r.Median(lib) / r.Median(peer)
			return fmt.Sprintf("%.2fx (goal ≤ 1.3x: %s)", x, distance(1.3/x, 1)), x <= 1.3
		},
	}
}
