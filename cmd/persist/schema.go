package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mmapvec/persistence"
	"github.com/mmapvec/persistence/table"
)

// drop drops columns of the table in dir with their data
// (table.DropColumn), waiting up to wait for its writer and readers to
// close, and prints each change.
func drop(w io.Writer, dir string, columns []string, wait time.Duration) error {
	changes, err := table.DropColumn(dir, columns, &table.Options{LockTimeout: wait})
	if err != nil {
		return err
	}
	printChanges(w, dir, changes)
	return nil
}

// rename renames a column of the table in dir (table.RenameColumn), as
// drop waits, and prints the change.
func rename(w io.Writer, dir, from, to string, wait time.Duration) error {
	changes, err := table.RenameColumn(dir, from, to, &table.Options{LockTimeout: wait})
	if err != nil {
		return err
	}
	printChanges(w, dir, changes)
	return nil
}

func printChanges(w io.Writer, dir string, changes []persistence.SchemaChange) {
	if len(changes) == 0 {
		fmt.Fprintf(w, "%s: no change\n", dir)
	}
	for _, h := range changes {
		fmt.Fprintf(w, "%s: change %d: %s\n", dir, h.Change, describeChange(h))
	}
}

// describeChange says what a history entry did, in words.
func describeChange(h persistence.SchemaChange) string {
	col := fmt.Sprintf("column %s %q", columnID(h.ID), h.Name)
	switch h.Op {
	case "create":
		return fmt.Sprintf("created %s (%s)", col, entryType(h))
	case "add":
		return fmt.Sprintf("added %s (%s)", col, entryType(h))
	case "drop":
		return "dropped " + col
	case "rename":
		return fmt.Sprintf("renamed column %s %q to %q", columnID(h.ID), h.OldName, h.Name)
	case "widen":
		return fmt.Sprintf("widened %s from %s to %s", col, layoutType(h.OldLayout), layoutType(h.Layout))
	case "migrate":
		return fmt.Sprintf("migrated the data from version %d to %d", h.From, h.To)
	}
	return fmt.Sprintf("%s %s", h.Op, col)
}

// printHistory lists the manifest's history, one line per entry: change
// number, time, op, column id and name, and what it was before.
func printHistory(w io.Writer, m *persistence.Manifest) {
	if len(m.History) == 0 {
		fmt.Fprintf(w, "\nhistory   none recorded: the table predates column ids; its first schema change gives them\n")
		return
	}
	fmt.Fprintf(w, "\nhistory   %d schema change(s); the next column added gets id %d\n", m.History[len(m.History)-1].Change, m.NextID)
	lines := [][]string{{"change", "time", "op", "id", "column", "before", "after"}}
	for _, h := range m.History {
		before, after := "", ""
		switch h.Op {
		case "create", "add":
			after = entryType(h)
		case "rename":
			before, after = fmt.Sprintf("%q", h.OldName), fmt.Sprintf("%q", h.Name)
		case "widen":
			before, after = layoutType(h.OldLayout), layoutType(h.Layout)
		case "migrate":
			before, after = fmt.Sprintf("data version %d", h.From), fmt.Sprintf("data version %d", h.To)
		}
		name := h.Name
		if h.Op == "migrate" {
			name = "-"
		}
		lines = append(lines, []string{fmt.Sprint(h.Change), h.Time.UTC().Format("2006-01-02 15:04:05 UTC"),
			h.Op, columnID(h.ID), name, before, after})
	}
	aligned(w, lines)
}

// aligned prints cells in aligned columns, two spaces apart, with no
// padding at the end of a line.
func aligned(w io.Writer, lines [][]string) {
	var buf strings.Builder
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	for _, cells := range lines {
		fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
	}
	tw.Flush()
	for l := range strings.Lines(buf.String()) {
		io.WriteString(w, strings.TrimRight(l, " \n")+"\n")
	}
}

// columnID shows a column's id, "-" for none (a table made before ids).
func columnID(id uint32) string {
	if id == 0 {
		return "-"
	}
	return fmt.Sprintf("#%d", id)
}

// layoutType writes a layout as the Go type it was made from (int64,
// [4]uint8, struct{X float32; Y float32}), or canonically if its leaves
// do not describe one.
func layoutType(l *persistence.Layout) string {
	if l == nil {
		return "?"
	}
	s, err := shapeOf(*l)
	if err != nil {
		return l.String()
	}
	var b strings.Builder
	s.writeType(&b)
	return b.String()
}

func (s *shape) writeType(b *strings.Builder) {
	switch {
	case s.isStruct():
		b.WriteString("struct{")
		for i, f := range s.fields {
			if i > 0 {
				b.WriteString("; ")
			}
			b.WriteString(f.name + " ")
			f.shape.writeType(b)
		}
		b.WriteString("}")
	case s.elem != nil:
		fmt.Fprintf(b, "[%d]", s.count)
		s.elem.writeType(b)
	default:
		b.WriteString(s.kind)
	}
}

// entryType names the type of the column a "create" or "add" entry made.
func entryType(h persistence.SchemaChange) string {
	if h.Kind != "" {
		return columnType(persistence.ColumnSpec{Kind: h.Kind})
	}
	return layoutType(h.Layout)
}
