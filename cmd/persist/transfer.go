package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/mmapvec/persistence/internal/fsutil"
	"github.com/mmapvec/persistence/interop/arrowtable"
	"github.com/mmapvec/persistence/interop/export"
	"github.com/mmapvec/persistence/interop/ingest"
	"github.com/mmapvec/persistence/table"
)

type exportOptions struct {
	format, compression, partitionBy string
}

// formatOf is the format a file is named for, unless given.
func formatOf(file, given string) (string, error) {
	f := strings.ToLower(given)
	if f == "" {
		switch strings.ToLower(filepath.Ext(file)) {
		case ".parquet", ".pq":
			f = "parquet"
		case ".csv":
			f = "csv"
		case ".jsonl", ".ndjson":
			f = "jsonl"
		case ".arrow", ".feather", ".ipc":
			f = "arrow"
		case ".arrows":
			f = "arrows"
		default:
			return "", fmt.Errorf("%s: name it .parquet, .csv, .jsonl, .arrow or .arrows, or give -format", file)
		}
	}
	switch f {
	case "parquet", "csv", "jsonl", "arrow", "arrows":
		return f, nil
	case "ndjson", "json":
		return "jsonl", nil
	}
	return "", fmt.Errorf("-format %s: parquet, csv, jsonl, arrow or arrows", given)
}

// writeIPC writes the table's rows as an Arrow IPC file, or with stream
// as an IPC stream, a record batch at a time (see arrowtable), and
// returns the rows written.
func writeIPC(t *table.Table[table.Any], w io.Writer, stream bool, update func(done, total int)) (int, error) {
	total := t.Len()
	r, err := arrowtable.NewReader(t, nil)
	if err != nil {
		return 0, err
	}
	defer r.Release()
	var iw interface {
		Write(arrow.RecordBatch) error
		Close() error
	}
	if stream {
		iw = ipc.NewWriter(w, ipc.WithSchema(r.Schema()), ipc.WithDictionaryDeltas(true))
	} else if iw, err = ipc.NewFileWriter(w, ipc.WithSchema(r.Schema())); err != nil {
		return 0, err
	}
	rows := 0
	for r.Next() {
		b := r.RecordBatch()
		if err := iw.Write(b); err != nil {
			return rows, errors.Join(err, iw.Close())
		}
		rows += int(b.NumRows())
		update(rows, max(total, rows))
	}
	return rows, errors.Join(r.Err(), iw.Close())
}

// exportCmd writes the table in dir to file.
func exportCmd(stdout io.Writer, dir, file string, o exportOptions) error {
	format := o.format
	if format == "" && o.partitionBy != "" {
		format = "parquet"
	}
	format, err := formatOf(file, format)
	if err != nil {
		return err
	}
	if format != "parquet" && (o.compression != "" || o.partitionBy != "") {
		return fmt.Errorf("-compression and -partition-by are for Parquet, not %s", format)
	}
	toStdout := file == "-"
	if !toStdout && fsutil.Inside(dir, file) {
		// A file there is not one of the table's: Check would call the
		// table damaged.
		return fmt.Errorf("%s is inside the table's directory %s: export writes nothing to the table; choose a path outside it", file, dir)
	}
	t, err := table.Open[table.Any](dir, &table.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer t.Close()
	if toStdout && format == "parquet" {
		return errors.New("a Parquet export goes to a file, not stdout")
	}
	if toStdout && format == "arrow" {
		return errors.New("an Arrow IPC file goes to a file, not stdout; -format arrows writes a stream")
	}
	update, finish := progress(stdout, "exporting")
	if toStdout {
		update, finish = func(int, int) {}, func() {}
	}
	opts := &export.Options{Compression: o.compression, PartitionBy: o.partitionBy, Progress: update}
	start := time.Now()
	var rows int
	if o.partitionBy != "" {
		rows, err = export.ParquetDir(t, file, opts)
		finish()
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "exported %d rows of %s into %s (partitioned by %s) in %v\n", rows, dir, file, o.partitionBy, time.Since(start).Round(time.Millisecond))
		return nil
	}
	var w io.Writer = stdout
	var f *os.File
	if !toStdout {
		if f, err = os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644); err != nil {
			return err
		}
		w = f
	}
	switch format {
	case "parquet":
		rows, err = export.Parquet(t, w, opts)
	case "csv":
		rows, err = export.CSV(t, w, opts)
	case "arrow", "arrows":
		rows, err = writeIPC(t, w, format == "arrows", update)
	default:
		rows, err = export.JSONLines(t, w, opts)
	}
	finish()
	if f != nil {
		err = errors.Join(err, f.Close())
		if err != nil {
			return errors.Join(err, os.Remove(file))
		}
		fmt.Fprintf(stdout, "exported %d rows of %s into %s (%s) in %v\n", rows, dir, file, format, time.Since(start).Round(time.Millisecond))
	}
	return err
}

// importCmd appends the rows of file to the table in dir.
func importCmd(stdout io.Writer, dir, file, format string, batch int) error {
	if format == "" {
		switch strings.ToLower(filepath.Ext(file)) {
		case ".parquet", ".pq", ".csv":
		default:
			return fmt.Errorf("%s: name it .parquet or .csv, or give -format", file)
		}
	}
	format, err := formatOf(file, format)
	if err != nil {
		return err
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	update, finish := progress(stdout, "importing")
	opts := &ingest.Options{BatchRows: batch, Progress: update}
	start := time.Now()
	var rows int
	switch format {
	case "parquet":
		var fi os.FileInfo
		if fi, err = f.Stat(); err == nil {
			rows, err = ingest.Parquet(dir, f, fi.Size(), opts)
		}
	case "csv":
		rows, err = ingest.CSV(dir, f, opts)
	default:
		err = fmt.Errorf("import reads Parquet and CSV, not %s", format)
	}
	finish()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "imported %d rows from %s into %s in %v\n", rows, file, dir, time.Since(start).Round(time.Millisecond))
	return nil
}
