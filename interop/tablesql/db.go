//go:build duckdb_arrow

package tablesql

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"slices"
	"sync"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/duckdb/duckdb-go/v2"

	"github.com/mmapvec/persistence/interop/arrowtable"
)

// DB is an in-memory DuckDB database with tables attached as views. It is
// not safe for concurrent use: one query at a time, and the tables it has
// attached are used by DuckDB's threads while a query runs.
type DB struct {
	connector *duckdb.Connector
	db        *sql.DB
	conn      *sql.Conn
	arrow     *duckdb.Arrow

	mu      sync.Mutex
	tables  []attached
	running bool        // a query's result is open
	release []func()    // the streams of the last query's views
	scans   []*scanOnce // and what they read
	closed  bool
}

type attached struct {
	name string
	t    arrowtable.Table
	opts *arrowtable.Options
}

// Open starts an in-memory DuckDB database. config is DuckDB's (for
// example threads=2, memory_limit=1GB); nil for its defaults.
func Open(config map[string]string) (*DB, error) {
	dsn := ""
	if len(config) > 0 {
		q := url.Values{}
		for k, v := range config {
			q.Set(k, v)
		}
		dsn = "?" + q.Encode()
	}
	c, err := duckdb.NewConnector(dsn, nil)
	if err != nil {
		return nil, fmt.Errorf("tablesql: %w", err)
	}
	d := &DB{connector: c, db: sql.OpenDB(c)}
	if d.conn, err = d.db.Conn(context.Background()); err != nil {
		return nil, errors.Join(fmt.Errorf("tablesql: %w", err), d.db.Close(), c.Close())
	}
	err = d.conn.Raw(func(dc any) error {
		// The views are temporary, seen only by this connection, which d
		// keeps until Close: its Arrow interface outlives this call.
		var err error
		d.arrow, err = duckdb.NewArrowFromConn(dc.(driver.Conn))
		return err
	})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("tablesql: %w", err), d.Close())
	}
	// DuckDB's scan of an Arrow stream (duckdb_arrow_scan) hands the
	// stream the columns and filters a query needs and then takes what
	// comes back as if the stream had applied them, which a stream of
	// whole batches does not: off with the optimizations that push them.
	if _, err := d.conn.ExecContext(context.Background(), "SET disabled_optimizers = 'filter_pushdown,unused_columns,join_filter_pushdown'"); err != nil {
		return nil, errors.Join(fmt.Errorf("tablesql: %w", err), d.Close())
	}
	return d, nil
}

// Attach makes t queryable as the view name. Each query reads t as it is
// when the query starts (see arrowtable.NewReader): for a reader beside a
// writer, the rows the writer published last. opts chooses the columns
// and the batch size; nil reads every column. Unless opts sets MaxBatches,
// a table whose columns are all shared with the mapping is read in at
// most [Batches] batches, so that the Go heap a query allocates does not
// grow with the rows.
func (d *DB) Attach(name string, t arrowtable.Table, opts *arrowtable.Options) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return ErrClosed
	}
	r, err := arrowtable.NewReader(t, opts) // its columns and their types, now
	if err != nil {
		return fmt.Errorf("tablesql: %s: %w", name, err)
	}
	r.Release()
	o := arrowtable.Options{MaxBatches: Batches()}
	if opts != nil {
		o = *opts
		if o.MaxBatches == 0 {
			o.MaxBatches = Batches()
		}
	}
	d.tables = slices.DeleteFunc(d.tables, func(a attached) bool { return a.name == name })
	d.tables = append(d.tables, attached{name: name, t: t, opts: &o})
	return nil
}

// Batches returns the most batches a query reads an attached table in
// when its columns are all shared with the mapping: enough for each of
// DuckDB's threads (one per CPU by default) to take several.
func Batches() int { return max(16, 4*runtime.GOMAXPROCS(0)) }

// Rows is the result of [DB.Query]: database/sql rows, whose Close also
// lets the next query run.
type Rows struct {
	*sql.Rows
	d    *DB
	once sync.Once
}

// Err returns the error that ended the rows, if any.
func (r *Rows) Err() error {
	if err := r.Rows.Err(); err != nil {
		return r.d.fail(err)
	}
	return nil
}

// Close closes the rows and ends the query.
func (r *Rows) Close() error {
	err := r.Rows.Close()
	r.once.Do(r.d.done)
	return err
}

// Query runs query over the attached tables as they are now. Close the
// rows before the next query: until then the tables are DuckDB's.
func (d *DB) Query(ctx context.Context, query string, args ...any) (*Rows, error) {
	if err := d.begin(); err != nil {
		return nil, err
	}
	rows, err := d.conn.QueryContext(ctx, query, args...)
	if err != nil {
		d.done()
		return nil, d.fail(err)
	}
	return &Rows{Rows: rows, d: d}, nil
}

// QueryArrow runs query as Query does and gives its result as Arrow
// record batches (DuckDB's, not the tables' memory). Release the reader
// before the next query.
func (d *DB) QueryArrow(ctx context.Context, query string, args ...any) (array.RecordReader, error) {
	if err := d.begin(); err != nil {
		return nil, err
	}
	r, err := d.arrow.QueryContext(ctx, query, args...)
	if err != nil {
		d.done()
		return nil, d.fail(err)
	}
	return &arrowResult{RecordReader: r, d: d}, nil
}

type arrowResult struct {
	array.RecordReader
	d    *DB
	once sync.Once
}

func (r *arrowResult) Release() {
	r.RecordReader.Release()
	r.once.Do(r.d.done)
}

// begin registers a fresh view of each attached table, so that the query
// reads each as it is now: a stream of Arrow batches is read once.
func (d *DB) begin() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case d.closed:
		return ErrClosed
	case d.running:
		return ErrBusy
	}
	d.drop()
	for _, a := range d.tables {
		r, err := arrowtable.NewReader(a.t, a.opts)
		if err != nil {
			d.drop()
			return fmt.Errorf("tablesql: %s: %w", a.name, err)
		}
		s := &scanOnce{Reader: r, name: a.name}
		release, err := d.arrow.RegisterView(s, a.name)
		r.Release() // the view's stream holds its own reference
		if err != nil {
			d.drop()
			return fmt.Errorf("tablesql: view %s: %w", a.name, err)
		}
		d.release = append(d.release, release)
		d.scans = append(d.scans, s)
	}
	d.running = true
	return nil
}

// scanOnce is a view's stream of batches, which one scan reads to its end:
// a second scan of the view in one query (a self-join, a CTE read twice)
// asks for batches after the end, and fails the query with ErrScannedTwice
// rather than seeing no rows.
type scanOnce struct {
	*arrowtable.Reader
	name  string
	ended bool
	err   error
}

func (s *scanOnce) Next() bool {
	if s.ended {
		s.err = fmt.Errorf("%w: %s", ErrScannedTwice, s.name)
		return false
	}
	if !s.Reader.Next() {
		s.ended = true
		return false
	}
	return true
}

func (s *scanOnce) Err() error {
	if s.err != nil {
		return s.err
	}
	return s.Reader.Err()
}

// done ends the running query.
func (d *DB) done() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.running = false
}

// drop releases the streams of the views registered last.
func (d *DB) drop() {
	for _, release := range d.release {
		release()
	}
	d.release, d.scans = d.release[:0], d.scans[:0]
}

// fail returns the error of a query: one of its scans' own, if one
// failed, with DuckDB's message about it.
func (d *DB) fail(err error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, s := range d.scans {
		if serr := s.Err(); serr != nil {
			return fmt.Errorf("%w (%v)", serr, err)
		}
	}
	return fmt.Errorf("tablesql: %w", err)
}

// Exec runs a statement that returns no rows (a SET, a CREATE TABLE AS
// over the attached tables, ...).
func (d *DB) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if err := d.begin(); err != nil {
		return nil, err
	}
	defer d.done()
	res, err := d.conn.ExecContext(ctx, query, args...)
	if err != nil {
		return nil, d.fail(err)
	}
	return res, nil
}

// Close closes the database; the attached tables stay open.
func (d *DB) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	var errs []error
	if d.conn != nil {
		errs = append(errs, d.conn.Close())
	}
	d.drop()
	errs = append(errs, d.db.Close(), d.connector.Close())
	return errors.Join(errs...)
}
