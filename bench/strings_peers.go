package bench

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/arrow/util"
	"github.com/duckdb/duckdb-go/v2"
	"github.com/parquet-go/parquet-go"

	"github.com/mmapvec/persistence/column"
	"github.com/mmapvec/persistence/table"
)

// EventStore is one contender of the string ingest: Ingest stores every
// event and returns when they are durable (Arrow's builders, in memory,
// when they are built); Check says whether the store holds them.
type EventStore interface {
	Ingest(rs []Event) error
	Check(e *Events) error
	Close() error
}

// asStore is an opened store as an EventStore: nil, not a nil pointer, on
// an error.
func asStore[S EventStore](s S, err error) (EventStore, error) {
	if err != nil {
		return nil, err
	}
	return s, nil
}

// eventBatch is the rows per AppendRows call of the library's ingest.
const eventBatch = 64 << 10

// EventTable is the library: AppendRows in batches of eventBatch rows,
// then one Sync.
type EventTable struct{ T *table.Table[Event] }

func OpenEventTable(dir string) (*EventTable, error) {
	t, err := table.Open[Event](dir, nil)
	if err != nil {
		return nil, err
	}
	return &EventTable{T: t}, nil
}

func (s *EventTable) Ingest(rs []Event) error {
	for from := 0; from < len(rs); from += eventBatch {
		if err := s.T.AppendRows(rs[from:min(from+eventBatch, len(rs))]); err != nil {
			return err
		}
	}
	return s.T.Sync()
}

// URLs is the view of the URL column.
func (s *EventTable) URLs() (*column.Strings, error) { return table.Strings(s.T, "URL") }

// Countries is the view of the Country column.
func (s *EventTable) Countries() (*column.Symbols, error) { return table.Symbols(s.T, "Country") }

func (s *EventTable) Check(e *Events) error {
	urls, err := s.URLs()
	if err != nil {
		return err
	}
	cs, err := s.Countries()
	if err != nil {
		return err
	}
	code, _ := cs.Lookup(string(e.Top()))
	return checkEvents("table", e, s.T.Len(), urls.TotalLen(), cs.Count(code))
}

func (s *EventTable) Close() error { return s.T.Close() }

// checkEvents compares what a store reports with the generator's figures:
// rows, URL bytes, and events of the most frequent country.
func checkEvents(store string, e *Events, rows, urlBytes, top int) error {
	if rows != len(e.Rows) || urlBytes != e.URLBytes || top != e.Counts[e.Top()] {
		return fmt.Errorf("%s holds %d rows, %d URL bytes, %d of %s; want %d, %d, %d",
			store, rows, urlBytes, top, e.Top(), len(e.Rows), e.URLBytes, e.Counts[e.Top()])
	}
	return nil
}

// EventDuckDB appends through DuckDB's appender into VARCHAR columns; the
// Flush at the end is the commit, which DuckDB writes to its WAL and
// fsyncs before returning.
type EventDuckDB struct {
	db   *sql.DB
	conn *sql.Conn
	app  *duckdb.Appender
}

func OpenEventDuckDB(path string) (*EventDuckDB, error) {
	db, err := sql.Open("duckdb", path)
	if err != nil {
		return nil, err
	}
	d := &EventDuckDB{db: db}
	if _, err := db.Exec(`CREATE TABLE events (ts BIGINT, url VARCHAR, country VARCHAR, dur FLOAT)`); err != nil {
		return nil, errors.Join(err, d.Close())
	}
	if d.conn, err = db.Conn(context.Background()); err != nil {
		return nil, errors.Join(err, d.Close())
	}
	err = d.conn.Raw(func(c any) error {
		var err error
		d.app, err = duckdb.NewAppenderFromConn(c.(driver.Conn), "", "events")
		return err
	})
	if err != nil {
		return nil, errors.Join(err, d.Close())
	}
	return d, nil
}

func (d *EventDuckDB) Ingest(rs []Event) error {
	for _, r := range rs {
		if err := d.app.AppendRow(r.TS, r.URL, string(r.Country), r.Dur); err != nil {
			return err
		}
	}
	return d.app.Flush()
}

func (d *EventDuckDB) Check(e *Events) error {
	var rows, urlBytes, top int
	err := d.conn.QueryRowContext(context.Background(),
		`SELECT count(*), coalesce(sum(strlen(url)), 0), count(*) FILTER (WHERE country = ?) FROM events`,
		string(e.Top())).Scan(&rows, &urlBytes, &top)
	if err != nil {
		return err
	}
	return checkEvents("DuckDB", e, rows, urlBytes, top)
}

func (d *EventDuckDB) Close() error {
	var errs []error
	if d.app != nil {
		errs = append(errs, d.app.Close())
	}
	if d.conn != nil {
		errs = append(errs, d.conn.Close())
	}
	return errors.Join(append(errs, d.db.Close())...)
}

// EventSQLite inserts every event with one prepared statement in one
// transaction, in WAL mode with synchronous=FULL (the commit fsyncs the WAL).
type EventSQLite struct {
	db  *sql.DB
	ins *sql.Stmt
}

func OpenEventSQLite(path string) (*EventSQLite, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE events (ts INTEGER, url TEXT, country TEXT, dur REAL)`); err != nil {
		return nil, errors.Join(err, db.Close())
	}
	ins, err := db.Prepare(`INSERT INTO events (ts, url, country, dur) VALUES (?, ?, ?, ?)`)
	if err != nil {
		return nil, errors.Join(err, db.Close())
	}
	return &EventSQLite{db: db, ins: ins}, nil
}

func (s *EventSQLite) Ingest(rs []Event) error {
	tx, err := s.db.Begin()
	if err != nil {
		return err
	}
	st := tx.Stmt(s.ins)
	for _, r := range rs {
		if _, err := st.Exec(r.TS, r.URL, string(r.Country), float64(r.Dur)); err != nil {
			return errors.Join(err, tx.Rollback())
		}
	}
	return tx.Commit()
}

func (s *EventSQLite) Check(e *Events) error {
	var rows, urlBytes, top int
	err := s.db.QueryRow(`SELECT count(*), coalesce(sum(length(url)), 0), count(CASE WHEN country = ? THEN 1 END) FROM events`,
		string(e.Top())).Scan(&rows, &urlBytes, &top)
	if err != nil {
		return err
	}
	return checkEvents("SQLite", e, rows, urlBytes, top)
}

func (s *EventSQLite) Close() error { return errors.Join(s.ins.Close(), s.db.Close()) }

// EventParquet writes the events with parquet-go's GenericWriter (the
// country dictionary-encoded) and fsyncs the file.
type EventParquet struct{ path string }

func (p *EventParquet) Ingest(rs []Event) error {
	f, err := os.Create(p.path)
	if err != nil {
		return err
	}
	w := parquet.NewGenericWriter[Event](f)
	if _, err := w.Write(rs); err != nil {
		return errors.Join(err, f.Close())
	}
	if err := w.Close(); err != nil {
		return errors.Join(err, f.Close())
	}
	return errors.Join(f.Sync(), f.Close())
}

// Check reads the file back in blocks: slow, so only after timing.
func (p *EventParquet) Check(e *Events) error {
	f, err := os.Open(p.path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := parquet.NewGenericReader[Event](f)
	defer r.Close()
	buf := make([]Event, 4096)
	rows, urlBytes, top := 0, 0, 0
	for {
		k, err := r.Read(buf)
		for _, ev := range buf[:k] {
			urlBytes += len(ev.URL)
			if ev.Country == e.Top() {
				top++
			}
		}
		rows += k
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
	}
	return checkEvents("parquet", e, rows, urlBytes, top)
}

func (p *EventParquet) Close() error { return nil }

// ParquetFile is the file an EventParquet writes in dir.
func ParquetFile(dir string) *EventParquet {
	return &EventParquet{path: filepath.Join(dir, "events.parquet")}
}

// EventArrow builds Arrow record batches of arrowBatchRows events, the
// URL a String (or LargeString) array and the country a dictionary array
// (int32 indices into its strings), as an Arrow writer would before
// writing them out. They stay on the Go heap.
type EventArrow struct {
	Large bool
	// BatchRows is the rows of a batch; 0 is arrowBatchRows.
	BatchRows int
	Batches   []arrow.RecordBatch
}

func eventSchema(large bool) *arrow.Schema {
	url := arrow.DataType(arrow.BinaryTypes.String)
	if large {
		url = arrow.BinaryTypes.LargeString
	}
	return arrow.NewSchema([]arrow.Field{
		{Name: "ts", Type: arrow.PrimitiveTypes.Int64},
		{Name: "url", Type: url},
		{Name: "country", Type: &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}},
		{Name: "dur", Type: arrow.PrimitiveTypes.Float32},
	}, nil)
}

func (a *EventArrow) Ingest(rs []Event) error {
	b := array.NewRecordBuilder(memory.DefaultAllocator, eventSchema(a.Large))
	defer b.Release()
	ts := b.Field(0).(*array.Int64Builder)
	country := b.Field(2).(*array.BinaryDictionaryBuilder)
	dur := b.Field(3).(*array.Float32Builder)
	url, _ := b.Field(1).(*array.StringBuilder)
	largeURL, _ := b.Field(1).(*array.LargeStringBuilder)
	batch := cmp.Or(a.BatchRows, arrowBatchRows)
	for from := 0; from < len(rs); from += batch {
		for _, r := range rs[from:min(from+batch, len(rs))] {
			ts.Append(r.TS)
			if a.Large {
				largeURL.Append(r.URL)
			} else {
				url.Append(r.URL)
			}
			if err := country.AppendString(string(r.Country)); err != nil {
				return err
			}
			dur.Append(r.Dur)
		}
		a.Batches = append(a.Batches, b.NewRecordBatch())
	}
	return nil
}

func (a *EventArrow) Check(e *Events) error {
	rows := 0
	for _, rec := range a.Batches {
		rows += int(rec.NumRows())
	}
	return checkEvents("Arrow", e, rows, arrowLengths(a), arrowCount(a, string(e.Top())))
}

// Bytes is the size of the batches' buffers.
func (a *EventArrow) Bytes() int64 {
	var n int64
	for _, rec := range a.Batches {
		n += util.TotalRecordSize(rec)
	}
	return n
}

func (a *EventArrow) Close() error {
	for _, rec := range a.Batches {
		rec.Release()
	}
	a.Batches = nil
	return nil
}
