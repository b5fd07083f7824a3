// Command persist inspects, checks and repairs persistence tables without
// knowing their Go row type: the schema comes from the table's manifest.
//
//	persist info DIR     schema, machine, rows, and what an open would recover
//	persist check DIR    compare every file's own numbers; exit status 1 with
//	                     each problem listed if anything is wrong
//	persist repair DIR   recover, clean up and commit the table, and report it
//	persist convert SRC DST
//	                     copy a table written on a machine of the other byte
//	                     order into a new table for this machine
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/mmapvec/persistence"
	"github.com/mmapvec/persistence/table"
)

const usage = `usage: persist <command> DIR

commands:
  info     print the schema, the machine that wrote the table, the row count
           and what opening it would recover (read-only: writes nothing)
  check    compare every file's own numbers (column headers, COMMIT,
           JOURNAL, manifest and directory) and list each mismatch; exit
           status 1 if anything is wrong (read-only: writes nothing)
  repair   remove what interrupted steps left, trim partial elements, open
           the table writable (which finishes an interrupted operation and
           cuts unequal columns), commit the rows with a Sync, and report
  convert SRC DST
           copy a table written on a machine of the other byte order into a
           new table DST in this machine's byte order (SRC is only read)
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("persist", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cmd := fs.Arg(0)
	if want := map[bool]int{true: 3, false: 2}[cmd == "convert"]; fs.NArg() != want {
		fs.Usage()
		return 2
	}
	dir := fs.Arg(1)
	var err error
	switch cmd {
	case "convert":
		var n int
		if n, err = table.Convert(dir, fs.Arg(2)); err == nil {
			fmt.Fprintf(stdout, "converted %d rows from %s into %s\n", n, dir, fs.Arg(2))
		}
	case "info":
		err = info(stdout, dir)
	case "check":
		err = check(stdout, dir)
	case "repair":
		err = repair(stdout, dir)
	default:
		fmt.Fprintf(stderr, "persist: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "persist %s: %v\n", cmd, err)
		return 1
	}
	return 0
}

func info(w io.Writer, dir string) error {
	m, err := persistence.ReadManifest(dir)
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
	fmt.Fprintf(w, "recovery  %s\n", t.Recovered())
	if rec := t.Recovered(); len(rec.CPUMissing) > 0 {
		fmt.Fprintf(w, "cpu       this machine lacks %s\n", strings.Join(rec.CPUMissing, " "))
	}
	fmt.Fprintf(w, "\n%-20s %-12s %10s %14s  %s\n", "column", "field", "elem size", "file bytes", "layout")
	for _, c := range m.Columns {
		size := int64(-1)
		if fi, err := os.Stat(filepath.Join(dir, c.File)); err == nil {
			size = fi.Size()
		}
		fmt.Fprintf(w, "%-20s %-12s %10d %14d  %s\n", c.Name, c.Field, c.Layout.Size, size, c.Layout)
	}
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
	rep, err := table.Check(dir)
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
	if errors.Is(rep.Err(), table.ErrNeedsRecovery) && !errors.Is(rep.Err(), table.ErrCorrupt) {
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
