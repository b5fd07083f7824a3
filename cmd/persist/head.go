package main

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"
	"unicode/utf8"

	"github.com/mmapvec/persistence"
	"github.com/mmapvec/persistence/table"
)

// head prints the first n rows of the table in dir (the last n with
// tail), each value decoded by its column's layout, in aligned columns,
// and a line with the table's row count for the rows not shown. It opens the table as a reader, so a writer may be
// appending meanwhile, and reads the rows inside Consistent: no row is
// shown half before and half after a change in place.
func head(w io.Writer, dir string, n int, tail bool) error {
	t, err := table.Open[table.Any](dir, &table.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer t.Close()
	cols := t.Manifest().Columns
	shapes := make([]*shape, len(cols))
	for i, c := range cols {
		shapes[i], _ = shapeOf(c.Layout) // nil: shown in hex
	}

	var rows int
	var idx []int
	var elems [][]byte // row-major: len(idx) rows of len(cols) elements
	err = t.Consistent(func() error {
		rows = t.Len()
		idx = shown(rows, n, tail)
		elems = elems[:0]
		for _, i := range idx {
			for _, c := range cols {
				b, err := t.AppendValue(nil, c.Name, i)
				if err != nil {
					return err
				}
				elems = append(elems, b)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}

	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	cells := make([]string, 0, len(cols)+1)
	line := func() {
		fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
		cells = cells[:0]
	}
	cells = append(cells, "#")
	for _, c := range cols {
		cells = append(cells, c.Name)
	}
	line()
	for k, i := range idx {
		if k > 0 && idx[k-1] != i-1 || k == 0 && i > 0 {
			gap(&cells, rows, len(cols))
			line()
		}
		cells = append(cells, fmt.Sprint(i))
		for j, c := range cols {
			if c.Variable() {
				cells = append(cells, text(c.Kind, elems[k*len(cols)+j]))
				continue
			}
			cells = append(cells, format(shapes[j], elems[k*len(cols)+j]))
		}
		line()
	}
	if len(idx) == 0 || idx[len(idx)-1] < rows-1 {
		gap(&cells, rows, len(cols)) // the rows below those shown, or -n 0, or an empty table
		line()
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// Every cell ends in a tab, so that every column aligns: the padding
	// that ends each line goes.
	for l := range strings.Lines(buf.String()) {
		if _, err := io.WriteString(w, strings.TrimRight(l, " \n")+"\n"); err != nil {
			return err
		}
	}
	return nil
}

// text renders a string, bytes or symbol value: as it is when it is
// printable UTF-8 without tabs or newlines (which would break the
// alignment), else Go-quoted; an empty value is "". Bytes that are not
// text are shown in hex.
func text(kind string, b []byte) string {
	s, more := string(b), ""
	if len(s) > maxText {
		cut := maxText
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s, more = s[:cut], fmt.Sprintf("...+%dB", len(s)-cut)
	}
	return textOf(kind, s) + more
}

// maxText is the most bytes of a value head prints.
const maxText = 64

func textOf(kind, s string) string {
	b := []byte(s)
	switch {
	case s == "":
		return `""`
	case utf8.ValidString(s) && strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) < 0:
		return s
	case kind == persistence.KindBytes && !utf8.ValidString(s):
		return hexBytes(b)
	}
	return strconv.Quote(s)
}

// gap is the line for the rows not shown, with the table's count: it keeps every
// column's cell, so that the rows above and below stay aligned.
func gap(cells *[]string, rows, ncols int) {
	count := fmt.Sprintf("(%d rows)", rows)
	if rows == 1 {
		count = "(1 row)"
	}
	*cells = append(*cells, "...", count)
	for range ncols - 1 {
		*cells = append(*cells, "")
	}
}

// shown lists the rows head prints of a table of rows rows: the first n;
// with tail, the last n.
func shown(rows, n int, tail bool) []int {
	from, to := 0, min(n, rows)
	if tail {
		from, to = max(rows-n, 0), rows
	}
	idx := make([]int, 0, to-from)
	for i := from; i < to; i++ {
		idx = append(idx, i)
	}
	return idx
}
