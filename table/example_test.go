package table_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/mmapvec/persistence/column"
	"github.com/mmapvec/persistence/table"
)

type Body struct {
	Pos  [2]float64
	Mass float64 `persist:"mass"`
}

func Example() {
	tmp, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(tmp)
	dir := filepath.Join(tmp, "bodies")

	t, err := table.Open[Body](dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	_ = t.Append(Body{Pos: [2]float64{1, 2}, Mass: 10})
	_ = t.AppendRows([]Body{{Mass: 20}, {Mass: 30}})
	if err := t.Sync(); err != nil {
		log.Fatal(err)
	}
	_ = t.Close()

	t, err = table.Open[Body](dir, &table.Options{ReadOnly: true})
	if err != nil {
		log.Fatal(err)
	}
	defer t.Close()
	mass, _ := table.Column[float64](t, "mass")
	total := 0.0
	for _, m := range mass.Slice() {
		total += m
	}
	fmt.Println(t.Len(), "rows, total mass", total, "first", t.Row(0))
	// Output: 3 rows, total mass 60 first {[1 2] 10}
}

func ExampleCol() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	t, _ := table.Open[Body](dir, nil)
	defer t.Close()
	_ = t.AppendRows([]Body{{Mass: 1}, {Mass: 2}})

	// A field selector instead of a name: checked by the compiler.
	mass, err := table.Col(t, func(b *Body) *float64 { return &b.Mass })
	if err != nil {
		log.Fatal(err)
	}
	mass.Set(1, 5)
	fmt.Println(mass.Slice(), t.Row(1).Mass)
	// Output: [1 5] 5
}

func ExampleTable_SwapRemove() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	t, _ := table.Open[Body](dir, nil)
	defer t.Close()
	_ = t.AppendRows([]Body{{Mass: 1}, {Mass: 2}, {Mass: 3}})
	_ = t.SwapRemove(0) // the last row moves into row 0
	for i := range t.Len() {
		fmt.Println(t.Row(i).Mass)
	}
	// Output:
	// 3
	// 2
}

func ExampleTable_Recovered() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	t, _ := table.Open[Body](dir, nil)
	fmt.Println(t.Recovered().Created)
	_ = t.Append(Body{Mass: 1})
	_ = t.Close()
	t, _ = table.Open[Body](dir, nil)
	defer t.Close()
	fmt.Println(t.Recovered().Source, t.Len())
	// Output:
	// true
	// live 1
}

// An entity-component system gets the columns it works on with one error
// check: a struct of views, bound by field name.
func ExampleBind() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	type Particle struct {
		Pos, Vel [2]float64
		Mass     float64
	}
	t, _ := table.Open[Particle](dir, nil)
	defer t.Close()
	_ = t.AppendRows([]Particle{{Vel: [2]float64{1, 0}}, {Vel: [2]float64{0, 2}}})

	var move struct {
		Pos *column.Of[[2]float64]
		Vel *column.Of[[2]float64]
	}
	if err := table.Bind(t, &move); err != nil {
		log.Fatal(err)
	}
	pos, vel := move.Pos.Slice(), move.Vel.Slice()
	for i := range pos {
		pos[i][0] += vel[i][0]
		pos[i][1] += vel[i][1]
	}
	for _, p := range t.All() {
		fmt.Println(p.Pos)
	}
	// Output:
	// [1 0]
	// [0 2]
}

func ExampleTable_DeleteFunc() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	t, _ := table.Open[Body](dir, nil)
	defer t.Close()
	_ = t.AppendRows([]Body{{Mass: 1}, {Mass: 2}, {Mass: 3}, {Mass: 4}})
	n, _ := t.DeleteFunc(func(b Body) bool { return b.Mass == 2 || b.Mass == 3 })
	_ = t.Delete(0) // order kept: the rows after it move down
	fmt.Println(n, "removed by DeleteFunc")
	for _, b := range t.All() {
		fmt.Println(b.Mass)
	}
	// Output:
	// 2 removed by DeleteFunc
	// 4
}
