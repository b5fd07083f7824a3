package bench

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/parquet-go/parquet-go"

	"github.com/mmapvec/persistence/interop/export"
	"github.com/mmapvec/persistence/interop/ingest"
	"github.com/mmapvec/persistence/table"
)

// Parquet out and in: a table's export against parquet-go writing the same
// rows from a Go slice, and an import against DuckDB's read_parquet into
// a table of its own.

const (
	exportLib     = "export.Parquet from a table"
	exportPeer    = "parquet-go GenericWriter from a []Row"
	importLib     = "ingest.Parquet into a new table"
	importDuckDB  = "DuckDB read_parquet into a native table"
	parquetGroups = 64 << 20 // bytes of values per row group, both sides
)

// writeParquetGroups is the peer: parquet-go's GenericWriter, snappy, a
// row group per parquetGroups bytes of rows, as the export writes them.
func writeParquetGroups(path string, rs []Row) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := parquet.NewGenericWriter[Row](f, parquet.Compression(&parquet.Snappy))
	group := parquetGroups / RowSize
	for i := 0; i < len(rs); i += group {
		if _, err := w.Write(rs[i:min(i+group, len(rs))]); err != nil {
			return errors.Join(err, f.Close())
		}
		if err := w.Flush(); err != nil {
			return errors.Join(err, f.Close())
		}
	}
	return errors.Join(w.Close(), f.Close())
}

// ParquetExportWorkload writes BulkRows rows as a snappy Parquet file.
func ParquetExportWorkload(c Config) *Workload {
	n := c.BulkRows
	var dir string
	var rows []Row
	var tab *table.Table[table.Any]
	out := func() string { return filepath.Join(dir, "out.parquet") }
	check := func() error {
		got, err := ParquetRows(out())
		if err == nil && got != int64(n) {
			err = fmt.Errorf("%s holds %d rows, want %d", out(), got, n)
		}
		return errors.Join(err, release(), os.Remove(out()))
	}
	return &Workload{
		Name: "Parquet export", Size: "rows=" + sizeName(n), Unit: PerRow, Lib: exportLib, Reps: 5, BytesPerRow: RowSize,
		Notes: []string{fmt.Sprintf("32-byte rows of 4 fields into a snappy-compressed Parquet file (page cache, not synced), "+
			"in row groups of %d MiB of values on both sides: the table read as table.Any by a reader, "+
			"each column's elements turned into parquet-go values and written column by column; "+
			"parquet-go's GenericWriter gathering the fields of a []Row already on the heap.", parquetGroups>>20)},
		Setup: func() (err error) {
			rows = MakeRows(0, n)
			if dir, err = TempDir("parquet-export"); err != nil {
				return err
			}
			t, err := OpenTable(filepath.Join(dir, "table"))
			if err != nil {
				return err
			}
			if err := errors.Join(t.AppendRows(rows), t.Close()); err != nil {
				return err
			}
			tab, err = table.Open[table.Any](filepath.Join(dir, "table"), &table.Options{ReadOnly: true})
			return err
		},
		Teardown: func() error { rows = nil; return errors.Join(closer(&tab)(), os.RemoveAll(dir)) },
		Cases: []*Case{
			{Name: exportLib, Units: float64(n),
				Run: func() error {
					f, err := os.Create(out())
					if err != nil {
						return err
					}
					_, err = export.Parquet(tab, f, &export.Options{RowGroupBytes: parquetGroups})
					return errors.Join(err, f.Close())
				},
				After: check},
			{Name: exportPeer, Units: float64(n),
				Run:   func() error { return writeParquetGroups(out(), rows) },
				After: check},
		},
		Goals: []Goal{FasterThan("Parquet export ≥ 1x parquet-go from a slice", exportPeer, 1)},
	}
}

// ParquetImportWorkload imports a snappy Parquet file of BulkRows rows.
func ParquetImportWorkload(c Config) *Workload {
	n := c.BulkRows
	var dir string
	var db *sql.DB
	file := func() string { return filepath.Join(dir, "in.parquet") }
	target := func() string { return filepath.Join(dir, "target") }
	return &Workload{
		Name: "Parquet import", Size: "rows=" + sizeName(n), Unit: PerRow, Lib: importLib, Reps: 3, BytesPerRow: RowSize,
		Notes: []string{"The Parquet file of the export workload (32-byte rows of 4 fields, snappy), read from the page cache. " +
			"The import creates the table from the file's schema and appends batches of about 16 MiB (512k rows), each synced (fdatasync of every column, then COMMIT) while the next is read; " +
			"DuckDB runs CREATE TABLE AS SELECT * FROM read_parquet(...) in a new database file on both cores, then CHECKPOINT, which makes it durable."},
		Setup: func() (err error) {
			if dir, err = TempDir("parquet-import"); err != nil {
				return err
			}
			t, err := OpenTable(filepath.Join(dir, "table"))
			if err != nil {
				return err
			}
			if err := errors.Join(t.AppendRows(MakeRows(0, n)), t.Close()); err != nil {
				return err
			}
			tab, err := table.Open[table.Any](filepath.Join(dir, "table"), &table.Options{ReadOnly: true})
			if err != nil {
				return err
			}
			f, err := os.Create(file())
			if err != nil {
				return errors.Join(err, tab.Close())
			}
			_, err = export.Parquet(tab, f, nil)
			return errors.Join(err, f.Close(), tab.Close(), os.RemoveAll(filepath.Join(dir, "table")))
		},
		Teardown: func() error { return os.RemoveAll(dir) },
		Cases: []*Case{
			{Name: importLib, Units: float64(n),
				Run: func() error {
					f, err := os.Open(file())
					if err != nil {
						return err
					}
					defer f.Close()
					st, err := f.Stat()
					if err != nil {
						return err
					}
					got, err := ingest.Parquet(target(), f, st.Size(), nil)
					if err == nil && got != n {
						err = fmt.Errorf("imported %d rows, want %d", got, n)
					}
					return err
				},
				After: func() error { return errors.Join(release(), os.RemoveAll(target())) }},
			{Name: importDuckDB, Units: float64(n),
				Before: func() (err error) {
					db, err = sql.Open("duckdb", target()+".duckdb")
					return err
				},
				Run: func() error {
					if _, err := db.Exec(fmt.Sprintf(`CREATE TABLE rows AS SELECT * FROM read_parquet('%s')`, file())); err != nil {
						return err
					}
					_, err := db.Exec(`CHECKPOINT`)
					return err
				},
				After: func() error {
					var got int
					err := db.QueryRow(`SELECT count(*) FROM rows`).Scan(&got)
					if err == nil && got != n {
						err = fmt.Errorf("DuckDB holds %d rows, want %d", got, n)
					}
					return errors.Join(err, closer(&db)(), release(), os.Remove(target()+".duckdb"), removeIfAny(target()+".duckdb.wal"))
				}},
		},
	}
}

func removeIfAny(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
