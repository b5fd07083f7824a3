package tablesql

import "errors"

var (
	// ErrClosed is returned after [DB.Close].
	ErrClosed = errors.New("tablesql: database closed")
	// ErrBusy is returned for a query while the result of the last one is
	// open.
	ErrBusy = errors.New("tablesql: the last query's result is still open: close it first")
	// ErrScannedTwice fails a query that reads an attached table more than
	// once (a self-join, a common table expression read twice): a query
	// reads each table's rows once, as one stream. Attach the table under
	// a second name, or read it through WITH x AS MATERIALIZED (...).
	ErrScannedTwice = errors.New("tablesql: a query reads a table more than once")
)
