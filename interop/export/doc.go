// Package export writes a table's rows as Parquet, CSV or JSON Lines,
// streaming from the table's mapping: [Parquet] and [ParquetDir] (with
// Hive-style partitions), [CSV] and [JSONLines].
//
// A table of any row type exports, [table.Any] included, and a reader
// beside a running writer exports too: the rows are the table's first
// Len() rows when the export starts (or [Options.Rows]), a prefix that
// later appends never change, taken as one state of the table
// ([table.Table.Consistent]). The rows are read from the mapping as the
// export proceeds, so a change in place the writer makes meanwhile
// (SetRow, SwapRemove, Delete, Truncate and appends over the rows) shows
// if the export has not passed the row yet; a string, bytes or symbol
// value it sets that lies past what the export took fails the export
// with [table.ErrChanged]. Export a [table.Table.Snapshot] of a table
// whose writer changes rows in place.
//
// # Columns
//
// Nested values are flattened, not mapped to Parquet groups: every scalar
// inside a column's element is a column of its own, named by the table
// column and its path ("pos.0" for item 0 of a [3]float32 column pos,
// "hist.2.Count" for a field of an array of structs), so that every
// engine reads every value as a plain typed column, and a column of
// scalars keeps its name. A [N]byte run is one FIXED_LEN_BYTE_ARRAY(N)
// value, a complex number two floats (".real", ".imag"). [Leaves] gives
// the flat columns of a schema.
//
// Parquet types: integers as INT32 or INT64 with the INT(bits, signed)
// logical type of their Go width (int8 is INT(8, true), uint32 is
// INT(32, false), int and uint are 64 bits), float32 FLOAT, float64
// DOUBLE, bool BOOLEAN, string BYTE_ARRAY with the STRING logical type,
// table.Symbol the same dictionary-encoded, []byte BYTE_ARRAY. Every
// column is REQUIRED: a table has no nulls. CSV and JSON Lines write the
// same flat columns; their value forms are told at [CSV] and [JSONLines].
// A Parquet file's metadata records the table columns its flat columns
// come from ([ColumnsKey]) and which hold symbols ([SymbolsKey]), so that
// the ingest package makes the same columns again.
//
// # Memory
//
// Parquet is written in row groups of at most [Options.RowGroupBytes] of
// values (64 MiB by default) before encoding, in blocks of 16384 rows per
// column. Up to GOMAXPROCS row groups (at most 4) are encoded at once,
// each by its own goroutine, and committed to the file in order: an
// export holds that many row groups' pages, whatever the table's size
// (13 MiB of heap for 1M rows and for 4M with 4 MiB row groups on two
// cores). A partitioned export writes each partition's row groups one at
// a time.
package export
