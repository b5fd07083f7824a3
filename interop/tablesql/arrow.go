//go:build duckdb_arrow

package tablesql

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"sync"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/duckdb/duckdb-go/v2"

	"github.com/mmapvec/persistence/interop/arrowtable"
)

// Open starts an in-memory DuckDB database that reads the attached tables
// through Arrow (the Arrow route; [OpenChunks] starts one on the chunk
// route). config is DuckDB's (for example threads=2, memory_limit=1GB);
// nil for its defaults.
func Open(config map[string]string) (*DB, error) {
	d, err := open(config)
	if err != nil {
		return nil, err
	}
	if err := d.arrow.init(d.conn); err != nil {
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

// arrowRoute is DuckDB's Arrow interface on the database's connection: the
// results of QueryArrow and, on the Arrow route, the views of the tables.
type arrowRoute struct {
	arrow   *duckdb.Arrow
	release []func()    // the streams of the last query's views
	scans   []*scanOnce // and what they read
}

func (a *arrowRoute) init(conn *sql.Conn) error {
	return conn.Raw(func(dc any) error {
		// The views are temporary, seen only by this connection, which d
		// keeps until Close: its Arrow interface outlives this call.
		var err error
		a.arrow, err = duckdb.NewArrowFromConn(dc.(driver.Conn))
		return err
	})
}

// QueryArrow runs query as Query does and gives its result as Arrow
// record batches (DuckDB's, not the tables' memory). Release the reader
// before the next query.
func (d *DB) QueryArrow(ctx context.Context, query string, args ...any) (array.RecordReader, error) {
	if err := d.begin(); err != nil {
		return nil, err
	}
	r, err := d.arrow.arrow.QueryContext(ctx, query, args...)
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
func (a *arrowRoute) begin(tables []attached) error {
	for _, t := range tables {
		r, err := arrowtable.NewReader(t.t, t.opts)
		if err != nil {
			return fmt.Errorf("tablesql: %s: %w", t.name, err)
		}
		s := &scanOnce{Reader: r, name: t.name}
		release, err := a.arrow.RegisterView(s, t.name)
		r.Release() // the view's stream holds its own reference
		if err != nil {
			return fmt.Errorf("tablesql: view %s: %w", t.name, err)
		}
		a.release = append(a.release, release)
		a.scans = append(a.scans, s)
	}
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

// drop releases the streams of the views registered last.
func (a *arrowRoute) drop() {
	for _, release := range a.release {
		release()
	}
	a.release, a.scans = a.release[:0], a.scans[:0]
}

// err returns the error of the first of the last query's scans that
// failed.
func (a *arrowRoute) err() error {
	for _, s := range a.scans {
		if err := s.Err(); err != nil {
			return err
		}
	}
	return nil
}
