package table_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/mmapvec/persistence/table"
)

// A reader follows a writer (here in the same process; any other process
// works alike): Refresh shows what the writer appended since.
func ExampleTable_Refresh() {
	tmp, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(tmp)
	dir := filepath.Join(tmp, "bodies")

	w, err := table.Open[Body](dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer w.Close()
	_ = w.AppendRows([]Body{{Mass: 1}, {Mass: 2}})

	r, err := table.Open[Body](dir, &table.Options{ReadOnly: true})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	mass, _ := table.Column[float64](r, "mass")
	fmt.Println("reader sees", r.Len(), "rows")

	_ = w.Append(Body{Mass: 3})
	if err := r.Refresh(); err != nil {
		log.Fatal(err)
	}
	fmt.Println("after Refresh", r.Len(), "rows; the view too:", mass.Slice())

	// A read that a change in place may overlap runs again until none did.
	var first Body
	if err := r.Consistent(func() error { first = r.Row(0); return nil }); err != nil {
		log.Fatal(err)
	}
	fmt.Println("first", first)
	// Output:
	// reader sees 2 rows
	// after Refresh 3 rows; the view too: [1 2 3]
	// first {[0 0] 1}
}

// A snapshot of a live table is a backup, or a save game, in one call.
func ExampleTable_Snapshot() {
	tmp, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(tmp)

	t, err := table.Open[Body](filepath.Join(tmp, "world"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer t.Close()
	_ = t.AppendRows([]Body{{Mass: 1}, {Mass: 2}})
	if err := t.Snapshot(filepath.Join(tmp, "save-1")); err != nil {
		log.Fatal(err)
	}
	_ = t.Append(Body{Mass: 3}) // the snapshot does not change

	save, err := table.Open[Body](filepath.Join(tmp, "save-1"), &table.Options{ReadOnly: true})
	if err != nil {
		log.Fatal(err)
	}
	defer save.Close()
	fmt.Println(save.Len(), "rows saved,", t.Len(), "in the world")
	// Output: 2 rows saved, 3 in the world
}
