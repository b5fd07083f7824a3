package bench

import (
	"context"
	"database/sql"
	"database/sql/driver"

	"github.com/duckdb/duckdb-go/v2"
)

// DuckDB appends through its appender and flushes once per batch; each flush
// is an autocommit that DuckDB writes to its WAL before returning.
type DuckDB struct {
	db   *sql.DB
	conn *sql.Conn
	app  *duckdb.Appender
}

func OpenDuckDB(path string) (*DuckDB, error) {
	db, err := sql.Open("duckdb", path)
	if err != nil {
		return nil, err
	}
	d := &DuckDB{db: db}
	if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS rows (id BIGINT, ts BIGINT, value DOUBLE, count UBIGINT)`); err != nil {
		d.Close()
		return nil, err
	}
	if d.conn, err = db.Conn(context.Background()); err != nil {
		d.Close()
		return nil, err
	}
	err = d.conn.Raw(func(c any) error {
		var err error
		d.app, err = duckdb.NewAppenderFromConn(c.(driver.Conn), "", "rows")
		return err
	})
	if err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

func (d *DuckDB) Commit(rs []Row) error {
	for _, r := range rs {
		if err := d.app.AppendRow(r.ID, r.TS, r.Value, r.Count); err != nil {
			return err
		}
	}
	return d.app.Flush()
}

func (d *DuckDB) Rows() (int, error) {
	var n int
	err := d.db.QueryRow(`SELECT count(*) FROM rows`).Scan(&n)
	return n, err
}

func (d *DuckDB) Close() error {
	var first error
	keep := func(err error) {
		if first == nil {
			first = err
		}
	}
	if d.app != nil {
		keep(d.app.Close())
	}
	if d.conn != nil {
		keep(d.conn.Close())
	}
	keep(d.db.Close())
	return first
}
