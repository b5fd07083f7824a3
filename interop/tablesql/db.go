package tablesql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync"

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
	arrow     arrowRoute  // Arrow results, and the Arrow route's scans
	chunks    *chunkRoute // the chunk route's scans; nil on the Arrow route

	mu      sync.Mutex
	tables  []attached
	running bool      // a query's result is open
	rows    *sql.Rows // Query's, which Close closes if its caller did not
	closed  bool
}

type attached struct {
	name string
	t    arrowtable.Table
	opts *arrowtable.Options
}

// open starts an in-memory DuckDB database and its one connection, for
// either route.
func open(config map[string]string) (*DB, error) {
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
	return d, nil
}

// Attach makes t queryable as the view name. Each query reads t as it is
// when the query starts (see arrowtable.NewReader): for a reader beside a
// writer, the rows the writer published last. opts chooses the columns
// and, on the Arrow route, the batch size; nil reads every column. Unless
// opts sets MaxBatches, the Arrow route reads a table whose columns are
// all shared with the mapping in at most [Batches] batches, so that the
// Go heap a query allocates does not grow with the rows. The chunk route
// reads DuckDB's chunks of rows whatever opts says of batches. Attaching
// a name again replaces its table; DuckDB's names ignore case, so "T"
// replaces "t".
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
	if d.chunks != nil {
		if _, err := newSnapshot(name, t, opts, nil); err != nil { // the columns have DuckDB types
			return err
		}
	}
	o := arrowtable.Options{MaxBatches: Batches()}
	if opts != nil {
		o = *opts
		if o.MaxBatches == 0 {
			o.MaxBatches = Batches()
		}
	}
	d.tables = slices.DeleteFunc(d.tables, func(a attached) bool { return strings.EqualFold(a.name, name) })
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
	d.mu.Lock()
	d.rows = rows
	d.mu.Unlock()
	return &Rows{Rows: rows, d: d}, nil
}

// begin readies each attached table for one query, so that the query
// reads each as it is now: on the Arrow route a fresh view over a stream
// of batches (read once), on the chunk route a snapshot of its row count.
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
	var err error
	if d.chunks != nil {
		err = d.chunks.begin(d.conn, d.tables)
	} else {
		err = d.arrow.begin(d.tables)
	}
	if err != nil {
		d.drop()
		return err
	}
	d.running = true
	return nil
}

// done ends the running query.
func (d *DB) done() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.running, d.rows = false, nil
}

// drop releases what the last query read.
func (d *DB) drop() {
	d.arrow.drop()
}

// fail returns the error of a query: one of its scans' own, if one
// failed, with DuckDB's message about it.
func (d *DB) fail(err error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	serr := d.arrow.err()
	if serr == nil && d.chunks != nil {
		serr = d.chunks.err()
	}
	if serr != nil {
		return fmt.Errorf("%w (%v)", serr, err)
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

// Close closes the database, and the rows of a query still open; the
// attached tables stay open.
func (d *DB) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	var errs []error
	if d.rows != nil {
		// database/sql's Close of the connection would wait for them.
		errs = append(errs, d.rows.Close())
	}
	if d.conn != nil {
		errs = append(errs, d.conn.Close())
	}
	d.drop()
	errs = append(errs, d.db.Close(), d.connector.Close())
	return errors.Join(errs...)
}
