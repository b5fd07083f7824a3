package tablesql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/mmapvec/persistence/interop/arrowtable"
	"github.com/mmapvec/persistence/table"
)

// scanFunction is the table function that reads an attached table, by
// its name: each attached table's view selects from it.
const scanFunction = "tablesql_scan"

// OpenChunks starts an in-memory DuckDB database that reads the attached
// tables through DuckDB's table functions (the chunk route): each scan
// fills DuckDB's chunks of rows from the columns a query reads, a chunk at
// a time, and needs no build tag. config is as for [Open].
func OpenChunks(config map[string]string) (*DB, error) {
	d, err := open(config)
	if err != nil {
		return nil, err
	}
	c := &chunkRoute{locks: map[arrowtable.Table]*sync.Mutex{}, views: map[string]string{}}
	d.chunks = c
	if err := d.arrow.init(d.conn); err != nil {
		return nil, errors.Join(fmt.Errorf("tablesql: %w", err), d.Close())
	}
	varchar, err := duckdb.NewTypeInfo(duckdb.TYPE_VARCHAR)
	if err == nil {
		err = duckdb.RegisterTableUDF(d.conn, scanFunction, duckdb.ParallelChunkTableFunction{
			Config: duckdb.TableFunctionConfig{Arguments: []duckdb.TypeInfo{varchar}},
			BindArguments: func(_ map[string]any, args ...any) (duckdb.ParallelChunkTableSource, error) {
				name, _ := args[0].(string)
				return c.bind(name)
			},
		})
	}
	if err != nil {
		return nil, errors.Join(fmt.Errorf("tablesql: %w", err), d.Close())
	}
	return d, nil
}

// chunkRoute is the state of the chunk route: a snapshot of each attached
// table per query, which DuckDB binds each scan of the table to.
type chunkRoute struct {
	// locks serializes the scans' use of each table, whose methods are
	// not safe for concurrent use: DuckDB's threads read chunks of one
	// scan, and of two scans of one table, at the same time.
	locks map[arrowtable.Table]*sync.Mutex
	views map[string]string // each view made, and the columns it was made for

	mu    sync.Mutex // guards what binds and scans use: snaps and errs
	snaps map[string]*snapshot
	errs  []error
}

// snapshot is an attached table as one query reads it: its columns, and
// the rows it had when the query started.
type snapshot struct {
	name  string
	t     arrowtable.Table
	lock  *sync.Mutex
	cols  []*chunkColumn
	infos []duckdb.ColumnInfo
	sig   string // the columns' names and types, which the view is made for
	rows  int
}

// newSnapshot compiles the columns of t that opts names and, if lock is
// not nil, counts its rows inside Consistent.
func newSnapshot(name string, t arrowtable.Table, opts *arrowtable.Options, lock *sync.Mutex) (*snapshot, error) {
	specs := t.Manifest().Columns
	if opts != nil && len(opts.Columns) > 0 {
		specs = specs[:0:0]
		for _, col := range opts.Columns {
			m, err := t.Memory(col, 0)
			if err != nil {
				return nil, fmt.Errorf("tablesql: %s: %w", name, err)
			}
			specs = append(specs, m.Spec)
		}
	}
	s := &snapshot{name: name, t: t, lock: lock}
	var sig strings.Builder
	for _, spec := range specs {
		c, err := compileColumn(spec)
		if err != nil {
			return nil, fmt.Errorf("tablesql: %s: %w", name, err)
		}
		s.cols = append(s.cols, c)
		s.infos = append(s.infos, duckdb.ColumnInfo{Name: spec.Name, T: c.info})
		fmt.Fprintf(&sig, "%q %s,", spec.Name, c.sig)
	}
	s.sig = sig.String()
	if lock == nil {
		return s, nil
	}
	lock.Lock()
	defer lock.Unlock()
	if err := t.Consistent(func() error { s.rows = t.Len(); return nil }); err != nil {
		return nil, fmt.Errorf("tablesql: %s: %w", name, err)
	}
	return s, nil
}

// begin takes a snapshot of each attached table for the next query, and
// makes or remakes the view of each whose columns changed.
func (c *chunkRoute) begin(conn *sql.Conn, tables []attached) error {
	snaps := make(map[string]*snapshot, len(tables))
	for _, a := range tables {
		lock := c.locks[a.t]
		if lock == nil {
			lock = new(sync.Mutex)
			c.locks[a.t] = lock
		}
		s, err := newSnapshot(a.name, a.t, a.opts, lock)
		if err != nil {
			return err
		}
		snaps[a.name] = s
	}
	c.mu.Lock()
	c.snaps, c.errs = snaps, nil
	c.mu.Unlock()
	for _, a := range tables {
		s := snaps[a.name]
		if c.views[a.name] == s.sig {
			continue
		}
		delete(c.views, a.name)
		q := fmt.Sprintf("CREATE OR REPLACE TEMP VIEW %s AS SELECT * FROM %s(%s)", ident(a.name), scanFunction, literal(a.name))
		if _, err := conn.ExecContext(context.Background(), q); err != nil {
			return fmt.Errorf("tablesql: view %s: %w", a.name, err)
		}
		c.views[a.name] = s.sig
	}
	return nil
}

func ident(s string) string   { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
func literal(s string) string { return `'` + strings.ReplaceAll(s, `'`, `''`) + `'` }

// bind returns a scan of the table attached as name, for DuckDB: each
// scan in a query, a self-join's two included, reads the same snapshot.
func (c *chunkRoute) bind(name string) (duckdb.ParallelChunkTableSource, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.snaps[name]
	if s == nil {
		return nil, fmt.Errorf("tablesql: no table is attached as %q", name)
	}
	return &scan{route: c, snap: s}, nil
}

// record keeps a scan's error, which DuckDB's reports only as text.
func (c *chunkRoute) record(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.errs = append(c.errs, err)
}

// err returns the first error of the last query's scans.
func (c *chunkRoute) err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.errs) > 0 {
		return c.errs[0]
	}
	return nil
}

// scan is one scan of a table in a query: DuckDB's threads each take the
// next chunk of its rows.
type scan struct {
	route *chunkRoute
	snap  *snapshot
	next  atomic.Int64 // the first row not taken yet
}

// scanState is what one of DuckDB's threads keeps while it scans.
type scanState struct {
	proj []int // the columns the query reads
	mems []table.ColumnMemory
}

func (s *scan) ColumnInfos() []duckdb.ColumnInfo { return s.snap.infos }

func (s *scan) Cardinality() *duckdb.CardinalityInfo {
	return &duckdb.CardinalityInfo{Cardinality: uint(s.snap.rows), Exact: true}
}

func (s *scan) Init() duckdb.ParallelTableSourceInfo {
	chunks := (s.snap.rows + duckdb.GetDataChunkCapacity() - 1) / duckdb.GetDataChunkCapacity()
	return duckdb.ParallelTableSourceInfo{MaxThreads: max(1, min(chunks, runtime.GOMAXPROCS(0)))}
}

func (s *scan) NewLocalState() any { return &scanState{} }

// FillChunk fills chunk with the next rows not taken yet, or ends the
// scan with a chunk of none.
func (s *scan) FillChunk(local any, chunk duckdb.DataChunk) error {
	st := local.(*scanState)
	if st.mems == nil {
		// Projection pushdown: a column the query does not read has no
		// vector in the chunk.
		for i := range s.snap.cols {
			if _, err := chunk.GetVector(i); err == nil {
				st.proj = append(st.proj, i)
			}
		}
		st.mems = make([]table.ColumnMemory, len(s.snap.cols))
	}
	n := duckdb.GetDataChunkCapacity()
	lo := int(s.next.Add(int64(n))) - n
	if lo >= s.snap.rows {
		return chunk.SetSize(0)
	}
	hi := min(lo+n, s.snap.rows)
	if err := s.fill(st, chunk, lo, hi); err != nil {
		err = fmt.Errorf("tablesql: %s: %w", s.snap.name, err)
		s.route.record(err)
		return err
	}
	return chunk.SetSize(hi - lo)
}

// fill fills chunk with rows [lo, hi). The columns' memory is taken inside
// Consistent, and the values of strings, bytes and symbols are read there
// too, as one state of the table; fixed-size values are read after, from
// the mapping, as the Arrow route's shared buffers are.
func (s *scan) fill(st *scanState, chunk duckdb.DataChunk, lo, hi int) error {
	t, cols := s.snap.t, s.snap.cols
	s.snap.lock.Lock()
	err := t.Consistent(func() error {
		for _, i := range st.proj {
			m, err := t.Memory(cols[i].spec.Name, hi)
			if errors.Is(err, table.ErrRange) {
				return fmt.Errorf("%w: %d rows of %d: %w", arrowtable.ErrShrunk, hi, s.snap.rows, err)
			}
			if err != nil {
				return err
			}
			st.mems[i] = m
			if cols[i].varlen {
				if err := cols[i].fill(chunk, i, m, lo, hi); err != nil {
					return err
				}
			}
		}
		return nil
	})
	s.snap.lock.Unlock()
	if err != nil {
		return err
	}
	for _, i := range st.proj {
		if !cols[i].varlen {
			if err := cols[i].fill(chunk, i, st.mems[i], lo, hi); err != nil {
				return err
			}
		}
	}
	return nil
}
