// Command persist inspects, checks, copies, repairs and changes the schema
// of persistence tables without knowing their Go row type: the schema
// comes from the table's manifest. Every command but repair, drop, rename
// and convert works beside a running writer, in any process: it opens the
// table as a reader.
//
//	persist info DIR     schema (with column ids), machine, rows, whether a
//	                     writer has the table open, what an open would
//	                     recover, and the schema's history
//	persist head DIR [-n N]
//	                     the first N rows (default 10), each value
//	                     decoded by its column's layout
//	persist tail DIR [-n N]
//	                     the last N rows (default 10)
//	persist check DIR    compare every file's own numbers; exit status 1 with
//	                     each problem listed if anything is wrong
//	persist export DIR FILE
//	                     write the rows as Parquet, CSV, JSON Lines or Arrow IPC
//	persist import DIR FILE
//	                     append the rows of a Parquet or CSV file, creating
//	                     the table if DIR does not exist or is empty
//	persist sql QUERY NAME=DIR...
//	                     run a SQL query (DuckDB) over live tables
//	persist snapshot SRC DST
//	                     copy the rows SRC shows now into a new table DST
//	persist repair DIR   recover, clean up and commit the table, and report it
//	persist compact DIR [-wait D]
//	                     give back the space the table holds beyond its rows
//	persist drop DIR COLUMN... [-wait D]
//	                     drop columns with their data
//	persist rename DIR OLD NEW [-wait D]
//	                     rename a column
//	persist convert SRC DST
//	                     copy a table written on a machine of the other byte
//	                     order into a new table for this machine
//	persist -h           the usage, on stdout
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/mmapvec/persistence"
	"github.com/mmapvec/persistence/table"
)

const usage = `usage: persist <command> <arguments>

commands:
  info DIR [--json]
           print the schema (each column's id, name, field, type and
           layout), the machine that wrote the table, the row count,
           whether a writer has it open (its pid, the rows it published and
           those of its last Sync), what opening it would recover, and the
           schema's history: a line per column created, added, dropped,
           renamed or widened and per data migration; with --json, all of
           it as one JSON object (the manifest, rows, writer, recovery)
  head DIR [-n N]
           print the first N rows (default 10), each value
           decoded by its column's layout: numbers, bools, [arrays],
           {structs}, and byte arrays as "text" when printable (else hex);
           long arrays and byte arrays are cut short. The rows are read as
           one state of the table
  tail DIR [-n N]
           print the last N rows (default 10), as head does
  check DIR [--json]
           compare every file's own numbers (column headers, COMMIT,
           JOURNAL, manifest and directory) and list each mismatch; exit
           status 1 if anything is wrong. Beside a running writer, what it
           has in flight is noted, not counted as a problem. With --json,
           the report as one JSON object ({"ok", "rows", "problems",
           "notes", ...}), exit status 1 all the same
  export DIR FILE [-format F] [-compression C] [-partition-by COLUMN]
           write the table's rows (a prefix: those it has when the export
           starts, beside a writer too) to FILE as Parquet, CSV, JSON
           Lines or Arrow IPC, by FILE's extension (.parquet, .csv, .jsonl,
           .ndjson, .arrow for an IPC file, .arrows for an IPC stream) or
           -format parquet|csv|jsonl|arrow|arrows; FILE "-" is stdout (CSV,
           JSON Lines and IPC streams). Parquet is snappy-compressed
           unless -compression zstd, gzip, lz4, brotli or none; with
           -partition-by, FILE is a new directory of Hive-style partitions
           COLUMN=VALUE/part-0.parquet. Nested values are flattened into a
           column per scalar ("pos.0") in Parquet, CSV and JSON Lines, and
           kept as Arrow structs and fixed-size lists in Arrow
  import DIR FILE [-format F] [-batch N]
           append the rows of a Parquet or CSV file (by extension, or
           -format parquet|csv) to the table DIR, its columns matched by
           name and type, or create DIR with the file's columns if it does
           not exist or is empty. Rows go in batches of N (by default
           about 16 MiB of elements), each synced: an interrupted import
           leaves whole batches; a bad file (checked whole before anything
           is appended) leaves the table as it was
  sql QUERY NAME=DIR... [--csv]
           run QUERY with DuckDB over the tables named on the command line
           (persist sql 'SELECT count(*) FROM events' events=/data/events),
           read in place through Arrow beside their writers, and print the
           result as aligned columns (or CSV)
  snapshot SRC DST
           copy the rows the table SRC shows now (a running writer's
           published rows) into a new table DST, and print its row count
           and the time the copy took
  repair DIR
           remove what interrupted steps left, trim partial elements, open
           the table writable (which finishes an interrupted operation and
           cuts unequal columns), commit the rows with a Sync, and report
  compact DIR [-wait D]
           give back the disk space the table holds beyond its rows: the
           bytes of string values that no row points at any more, and every
           file's spare capacity; print the table's size before and after
  drop DIR COLUMN... [-wait D]
           drop the named columns and their data, as a writable open with a
           record type that lacks them and Options.DropColumns does, and
           print each change
  rename DIR OLD NEW [-wait D]
           rename column OLD to NEW (its file too), as a writable open with
           a field tagged persist:"NEW,was=OLD" does, and print the change
  convert SRC DST
           copy a table written on a machine of the other byte order into a
           new table DST in this machine's byte order (SRC is only read)

info, head, tail, check, export, sql and snapshot only read (they open
beside a writer and write nothing to the table); import and repair need
the table without a writer, and compact, drop and rename without a writer
or readers: they fail naming their pids, or with -wait D wait up to D (say
10s) for them to close.

Export, import, check, convert and snapshot show their progress on
stderr when stdout is a terminal, and nothing otherwise.

  -h, --help  print this help
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// commands lists each command's positional arguments.
var commands = map[string][]string{
	"info":     {"DIR"},
	"head":     {"DIR"},
	"tail":     {"DIR"},
	"export":   {"DIR", "FILE"},
	"import":   {"DIR", "FILE"},
	"sql":      {"QUERY", "NAME=DIR..."},
	"check":    {"DIR"},
	"repair":   {"DIR"},
	"compact":  {"DIR"},
	"snapshot": {"SRC", "DST"},
	"convert":  {"SRC", "DST"},
	"drop":     {"DIR", "COLUMN..."},
	"rename":   {"DIR", "OLD", "NEW"},
}

func isHelp(arg string) bool {
	return arg == "-h" || arg == "-help" || arg == "--help" || arg == "help"
}

func run(args []string, stdout, stderr io.Writer) int {
	if slices.ContainsFunc(args, isHelp) {
		fmt.Fprint(stdout, usage)
		return 0
	}
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd := args[0]
	want, ok := commands[cmd]
	if !ok {
		fmt.Fprintf(stderr, "persist: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	fs := flag.NewFlagSet("persist "+cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	n := 10
	var wait time.Duration
	var asJSON, asCSV bool
	var xo exportOptions
	batch := 0
	switch cmd {
	case "head":
		fs.IntVar(&n, "n", 10, "rows from the start")
	case "tail":
		fs.IntVar(&n, "n", 10, "rows from the end")
	case "info", "check":
		fs.BoolVar(&asJSON, "json", false, "print JSON")
	case "export":
		fs.StringVar(&xo.format, "format", "", "parquet, csv, jsonl, arrow or arrows")
		fs.StringVar(&xo.compression, "compression", "", "snappy, zstd, gzip, lz4, brotli or none")
		fs.StringVar(&xo.partitionBy, "partition-by", "", "a column to partition by")
	case "import":
		fs.StringVar(&xo.format, "format", "", "parquet or csv")
		fs.IntVar(&batch, "batch", 0, "rows per batch")
	case "sql":
		fs.BoolVar(&asCSV, "csv", false, "print CSV")
	case "drop", "rename", "compact":
		fs.DurationVar(&wait, "wait", 0, "how long to wait for the writer and readers to close")
	}
	pos, err := parse(fs, args[1:])
	if err == nil && n < 0 {
		err = fmt.Errorf("-n %d: the row count must be 0 or more", n)
	}
	if err == nil && batch < 0 {
		err = fmt.Errorf("-batch %d: the row count must be 0 or more", batch)
	}
	if err == nil && wait < 0 {
		err = fmt.Errorf("-wait %v: the time must be 0 or more", wait)
	}
	// An argument named NAME... takes one or more.
	variadic := strings.HasSuffix(want[len(want)-1], "...")
	if err == nil && (len(pos) < len(want) || !variadic && len(pos) > len(want)) {
		err = fmt.Errorf("%s takes %s, got %d argument(s)", cmd, strings.Join(want, " "), len(pos))
	}
	if err != nil {
		fmt.Fprintf(stderr, "persist %s: %v\n\n%s", cmd, err, usage)
		return 2
	}
	// A report that could not be written (stdout on a full disk, a closed
	// pipe) fails the command, whichever Fprintf met the error.
	out := &reportWriter{w: stdout}
	stdout = out
	switch cmd {
	case "convert":
		var rows int
		stop := spinner(stdout, "converting")
		rows, err = table.Convert(pos[0], pos[1])
		stop()
		if err == nil {
			fmt.Fprintf(stdout, "converted %d rows from %s into %s\n", rows, pos[0], pos[1])
		}
	case "snapshot":
		err = snapshot(stdout, pos[0], pos[1])
	case "info":
		if asJSON {
			err = infoJSON(stdout, pos[0])
		} else {
			err = info(stdout, pos[0])
		}
	case "head", "tail":
		err = head(stdout, pos[0], n, cmd == "tail")
	case "check":
		if asJSON {
			err = checkJSON(stdout, pos[0])
		} else {
			err = check(stdout, pos[0])
		}
	case "export":
		err = exportCmd(stdout, pos[0], pos[1], xo)
	case "import":
		err = importCmd(stdout, pos[0], pos[1], xo.format, batch)
	case "sql":
		err = sqlCmd(stdout, pos[0], pos[1:], asCSV)
	case "repair":
		err = repair(stdout, pos[0])
	case "compact":
		err = compact(stdout, pos[0], wait)
	case "drop":
		err = drop(stdout, pos[0], pos[1:], wait)
	case "rename":
		err = rename(stdout, pos[0], pos[1], pos[2], wait)
	}
	if err == nil && out.err != nil {
		err = fmt.Errorf("writing the output: %w", out.err)
	}
	if err != nil {
		fmt.Fprintf(stderr, "persist %s: %v\n", cmd, err)
		return 1
	}
	return 0
}

// reportWriter is the command's stdout, keeping the first write error.
type reportWriter struct {
	w   io.Writer
	err error
}

func (r *reportWriter) Write(p []byte) (int, error) {
	n, err := r.w.Write(p)
	if err != nil && r.err == nil {
		r.err = err
	}
	return n, err
}

// parse parses fs's flags wherever they stand among the positional
// arguments (persist head DIR -n 3), and returns the positional ones.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(pos, rest...), nil // after "--", nothing is a flag
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// readManifest reads dir's manifest, saying so in table's words when dir
// is not a table (a file, or a directory without a manifest).
func readManifest(dir string) (*persistence.Manifest, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%w: %s is not a directory", table.ErrNotTable, dir)
	}
	m, err := persistence.ReadManifest(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s has no %s", table.ErrNotTable, dir, persistence.ManifestFile)
	}
	return m, err
}

func info(w io.Writer, dir string) error {
	m, err := readManifest(dir)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "table     %s\n", dir)
	fmt.Fprintf(w, "format    %s v%d, data version %d, %d-byte rows\n", m.Format, m.Version, m.DataVersion, m.RowSize)
	fmt.Fprintf(w, "machine   %s/%s %s, %d-byte pointers, %d-byte pages\n", m.Arch.GOOS, m.Arch.GOARCH, m.Arch.ByteOrder, m.Arch.PointerSize, m.Arch.PageSize)
	fmt.Fprintf(w, "created   %s on %s\n", m.Created.Time.Format("2006-01-02 15:04:05 MST"), cpuName(m.Created.CPU))
	fmt.Fprintf(w, "writer    last opened writable on %s\n", cpuName(m.LastWriterCPU))
	if err := m.CheckArch(); err != nil {
		return err
	}
	t, err := table.Open[table.Any](dir, &table.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer t.Close()
	fmt.Fprintf(w, "rows      %d\n", t.Len())
	if pid, open := t.Writer(); open {
		fmt.Fprintf(w, "open      by a writer, pid %d: %d rows published, %d at its last Sync\n", pid, t.Len(), t.Recovered().CommittedRows)
	} else {
		fmt.Fprintf(w, "open      by no writer; %d rows at the last Sync\n", t.Recovered().CommittedRows)
	}
	fmt.Fprintf(w, "recovery  %s\n", t.Recovered())
	if rec := t.Recovered(); len(rec.CPUMissing) > 0 {
		fmt.Fprintf(w, "cpu       this machine lacks %s\n", strings.Join(rec.CPUMissing, " "))
	}
	fmt.Fprintln(w)
	lines := [][]string{{"id", "column", "field", "type", "elem size", "file bytes", "layout"}}
	for _, c := range m.Columns {
		lines = append(lines, []string{columnID(c.ID), c.Name, c.Field, columnType(c), fmt.Sprint(c.Layout.Size), fmt.Sprint(filesSize(dir, c)), c.Layout.String()})
	}
	aligned(w, lines)
	printHistory(w, m)
	return nil
}

// columnType names the Go type of a column's field: a variable-length
// column's kind, or the type its layout spells.
func columnType(c persistence.ColumnSpec) string {
	switch c.Kind {
	case persistence.KindString:
		return "string"
	case persistence.KindBytes:
		return "[]byte"
	case persistence.KindSymbol:
		return "table.Symbol"
	}
	return layoutType(&c.Layout)
}

// filesSize is the bytes of all of a column's files, or -1 if one cannot
// be read.
func filesSize(dir string, c persistence.ColumnSpec) int64 {
	var n int64
	for _, f := range c.Files() {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			return -1
		}
		n += fi.Size()
	}
	return n
}

// compact compacts the table in dir (Table.Compact), waiting up to wait
// for its writer and readers to close, and prints its size before and
// after.
func compact(w io.Writer, dir string, wait time.Duration) error {
	m, err := readManifest(dir)
	if err != nil {
		return err
	}
	size := func() int64 {
		var n int64
		for _, c := range m.Columns {
			n += max(filesSize(dir, c), 0)
		}
		return n
	}
	before := size()
	t, err := table.Open[table.Any](dir, &table.Options{LockTimeout: wait})
	if err != nil {
		return err
	}
	start := time.Now()
	err = t.Compact()
	took := time.Since(start)
	rows := t.Len()
	if err = errors.Join(err, t.Close()); err != nil {
		return err
	}
	after := size()
	fmt.Fprintf(w, "compacted %s: %d rows, column files %d bytes before, %d after (%d given back) in %v\n",
		dir, rows, before, after, before-after, took.Round(time.Microsecond))
	return nil
}

func cpuName(c persistence.CPU) string {
	if c.Brand != "" {
		return c.Brand
	}
	if c.Vendor != "" {
		return c.Vendor
	}
	return "an unknown CPU"
}

// check prints the library's consistency check: a summary and the notes
// on stdout, and each problem in the returned error.
func check(w io.Writer, dir string) error {
	stop := spinner(w, "checking")
	rep, err := table.Check(dir)
	stop()
	if err != nil {
		return err
	}
	fmt.Fprintln(w, rep)
	for _, n := range rep.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	if rep.OK() {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d problem(s) in %s:", len(rep.Problems), dir)
	for _, p := range rep.Problems {
		fmt.Fprintf(&b, "\n  %s", p.Error())
	}
	switch {
	case !errors.Is(rep.Err(), table.ErrNeedsRecovery) || errors.Is(rep.Err(), table.ErrCorrupt):
	case rep.Writer != 0:
		fmt.Fprintf(&b, "\n(a writer, pid %d, has the table open: its next Sync rewrites a torn COMMIT slot; once it closes, persist repair %s finishes anything else)", rep.Writer, dir)
	default:
		fmt.Fprintf(&b, "\n(a writable open finishes what was interrupted: run persist repair %s)", dir)
	}
	return errors.New(b.String())
}

// repair removes leftovers, trims partial elements, recovers and commits
// the table (table.Repair), and says what it did.
func repair(w io.Writer, dir string) error {
	rep, err := table.Repair(dir, nil)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, rep)
	return nil
}

// snapshot copies the rows src shows now into the new table dst
// (Table.Snapshot, beside a running writer too), and reports the copy's
// row count as dst opens and the time the copy took.
func snapshot(w io.Writer, src, dst string) error {
	t, err := table.Open[table.Any](src, &table.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer t.Close()
	start := time.Now()
	stop := spinner(w, "copying")
	err = t.Snapshot(dst)
	stop()
	if err != nil {
		return err
	}
	took := time.Since(start)
	d, err := table.Open[table.Any](dst, &table.Options{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("the snapshot %s does not open: %w", dst, err)
	}
	rows := d.Len()
	if err := d.Close(); err != nil {
		return err
	}
	fmt.Fprintf(w, "snapshot of %s into %s: %d rows in %v\n", src, dst, rows, took.Round(time.Microsecond))
	return nil
}
