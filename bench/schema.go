package bench

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/mmapvec/persistence"
	"github.com/mmapvec/persistence/table"
)

// RowV2 is Row with a column more: the record type of the schema change
// workload.
type RowV2 struct {
	ID     int64
	TS     int64
	Value  float64
	Count  uint64
	Weight float64
}

const (
	schemaLib   = "table Open with a column more"
	schemaDrop  = "table DropColumn of it"
	schemaCopy  = "copy into a new table (ReadRows, AppendRows, Sync)"
	addedColumn = "Weight"
)

// SchemaWorkload times adding a column to a table of LargeBytes rows, by a
// writable Open with the wider record type (the table evolves in place,
// building the one new file), against what a store without schema changes
// asks for: copying every row into a new table of the wider type. Dropping
// the column again (table.DropColumn) is the library's second figure, and
// puts the table back as the next round's add needs it.
func SchemaWorkload(c Config) *Workload {
	n := c.LargeBytes / RowSize
	var dir string
	var before int64 // this process's bytes written before a Run
	wrote := map[string][]float64{}
	src := func() string { return filepath.Join(dir, "table") }
	dst := func() string { return filepath.Join(dir, "copy") }
	written := func(name string) func() error {
		return func() error { wrote[name] = append(wrote[name], float64(procWritten()-before)); return nil }
	}
	start := func() error { before = procWritten(); return nil }
	w := &Workload{
		Name: "Add a column", Size: bytesName(c.LargeBytes), Unit: PerOp, Lib: schemaLib, Reps: 3,
		Setup: func() (err error) {
			if dir, err = TempDir("schema"); err != nil {
				return err
			}
			t, err := OpenTable(src())
			if err != nil {
				return err
			}
			return errors.Join(fillTable(t, n), t.Close())
		},
		Teardown: func() error { return os.RemoveAll(dir) },
		Cases: []*Case{
			{Name: schemaLib, Units: 1,
				Before: func() error { return errors.Join(setColumn(src(), false), start()) },
				Run:    func() error { return addColumn(src()) },
				After:  func() error { return errors.Join(written(schemaLib)(), checkV2(src(), n)) }},
			{Name: schemaDrop, Units: 1, Self: true,
				Before: func() error { return errors.Join(setColumn(src(), true), start()) },
				Run:    func() error { return setColumn(src(), false) },
				After:  written(schemaDrop)},
			{Name: schemaCopy, Units: 1,
				Before: start,
				Run:    func() error { return copyV2(src(), dst()) },
				After: func() error {
					return errors.Join(written(schemaCopy)(), checkV2(dst(), n), os.RemoveAll(dst()))
				}},
		},
	}
	w.Notes = []string{fmt.Sprintf("The table holds %s of 32-byte rows in 4 columns (%d rows), synced and closed; its files are in the page cache. "+
		"The library opens it writable with a record type of one float64 column more, which evolves the table in place: it syncs the table, writes the SCHEMA record, builds the new column's file (allocated, so it reads as zeros, and fdatasynced), writes the new COMMIT and switches the manifest; the open is timed with its Close. "+
		"The copy is what a store without schema changes needs: it opens a new table of the wider type, reads the rows in blocks of 64k with ReadRows, appends them with AppendRows, and Syncs, so that its copy is durable too. "+
		"DropColumn removes the column again (its file and its manifest entry), which is also what puts the table back for the next round's add.", bytesName(c.LargeBytes), n)}
	base := len(w.Notes)
	w.Teardown = chain(w.Teardown, func() error {
		if len(wrote[schemaLib]) == 0 {
			return nil
		}
		var b strings.Builder
		b.WriteString("Bytes written (write_bytes of the process, the page-cache pages it dirtied), medians: ")
		for i, name := range []string{schemaLib, schemaDrop, schemaCopy} {
			if i > 0 {
				b.WriteString("; ")
			}
			fmt.Fprintf(&b, "%s %s", name, iec(Median(wrote[name])))
		}
		b.WriteString(".")
		w.Notes = append(w.Notes[:base], b.String())
		return nil
	})
	return w
}

// addColumn opens the table in dir with RowV2, which adds the column.
func addColumn(dir string) error {
	t, err := table.Open[RowV2](dir, nil)
	if err != nil {
		return err
	}
	if ch := t.Recovered().SchemaChanges; len(ch) != 1 || ch[0].Op != "add" || ch[0].Name != addedColumn {
		t.Close()
		return fmt.Errorf("the open made the changes %+v, want the column %s added", ch, addedColumn)
	}
	return t.Close()
}

// setColumn makes the table in dir have the added column or not.
func setColumn(dir string, want bool) error {
	m, err := persistence.ReadManifest(dir)
	if err != nil {
		return err
	}
	has := slices.ContainsFunc(m.Columns, func(c persistence.ColumnSpec) bool { return c.Name == addedColumn })
	switch {
	case has == want:
		return nil
	case want:
		return addColumn(dir)
	}
	_, err = table.DropColumn(dir, []string{addedColumn}, nil)
	return err
}

// copyV2 copies the rows of the table src into the new table dst of RowV2.
func copyV2(src, dst string) error {
	in, err := table.Open[Row](src, &table.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := table.Open[RowV2](dst, nil)
	if err != nil {
		return err
	}
	const block = 64 << 10
	rs := make([]Row, block)
	vs := make([]RowV2, block)
	for at := 0; at < in.Len(); {
		k, err := in.ReadRows(rs, at)
		if err == nil && k == 0 {
			err = fmt.Errorf("no rows read at %d of %d", at, in.Len())
		}
		if err != nil {
			return errors.Join(err, out.Close())
		}
		for i, r := range rs[:k] {
			vs[i] = RowV2{ID: r.ID, TS: r.TS, Value: r.Value, Count: r.Count}
		}
		if err := out.AppendRows(vs[:k]); err != nil {
			return errors.Join(err, out.Close())
		}
		at += k
	}
	return errors.Join(out.Sync(), out.Close())
}

// checkV2 opens the table in dir as RowV2 and checks its rows: those of
// the generator (checkRows), and the added column's zeros.
func checkV2(dir string, n int) error {
	t, err := table.Open[RowV2](dir, &table.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer t.Close()
	if err := checkRows(t, n); err != nil {
		return err
	}
	weights, err := table.Column[float64](t, addedColumn)
	if err != nil {
		return err
	}
	if i := slices.IndexFunc(weights.Slice(), func(w float64) bool { return w != 0 }); i >= 0 {
		return fmt.Errorf("%s: %s of row %d is %g, want 0", dir, addedColumn, i, weights.Get(i))
	}
	return t.Close()
}
