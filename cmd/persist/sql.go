//go:build cgo

package main

import (
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/mmapvec/persistence/interop/tablesql"
	"github.com/mmapvec/persistence/table"
)

// sqlCmd runs query over the tables named NAME=DIR, each opened as a
// reader and read in place, and prints the result.
func sqlCmd(w io.Writer, query string, named []string, asCSV bool) error {
	db, err := tablesql.Open(nil)
	if err != nil {
		return err
	}
	defer db.Close()
	seen := map[string]bool{}
	for _, nd := range named {
		name, dir, ok := strings.Cut(nd, "=")
		if !ok || name == "" || dir == "" {
			return fmt.Errorf("%q: name each table NAME=DIR", nd)
		}
		// SQL names are alike but for case: a second table of a name
		// would hide the first.
		if seen[strings.ToLower(name)] {
			return fmt.Errorf("%q: the name %s is given twice", nd, name)
		}
		seen[strings.ToLower(name)] = true
		t, err := table.Open[table.Any](dir, &table.Options{ReadOnly: true})
		if err != nil {
			return err
		}
		defer t.Close()
		if err := db.Attach(name, t, nil); err != nil {
			return err
		}
	}
	rows, err := db.Query(context.Background(), query)
	if err != nil {
		return err
	}
	defer rows.Close()
	return printRows(w, rows.Rows, func() error { return rows.Err() }, asCSV)
}

// printRows prints a result as aligned columns, or as CSV.
func printRows(w io.Writer, rows *sql.Rows, rowsErr func() error, asCSV bool) error {
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	var out func([]string) error
	var flush func() error
	if asCSV {
		cw := csv.NewWriter(w)
		out = cw.Write
		flush = func() error { cw.Flush(); return cw.Error() }
	} else {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		out = func(rec []string) error {
			for i := range rec {
				rec[i] = textOf("", rec[i])
			}
			_, err := fmt.Fprintln(tw, strings.Join(rec, "\t"))
			return err
		}
		flush = tw.Flush
	}
	if err := out(append([]string(nil), cols...)); err != nil {
		return err
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	rec := make([]string, len(cols))
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		for i, v := range vals {
			switch v := v.(type) {
			case nil:
				rec[i] = "NULL"
			case []byte:
				rec[i] = string(v)
			default:
				rec[i] = fmt.Sprint(v)
			}
		}
		if err := out(rec); err != nil {
			return err
		}
	}
	return errors.Join(rowsErr(), flush())
}
