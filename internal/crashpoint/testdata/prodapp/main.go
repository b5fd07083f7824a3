// Prodapp is an ordinary program linking the library: it appends rows to the
// table in its first argument, without Sync, and says how many it appended.
// The crashpoint tests build it with go build (not go test) and run it with
// the test-only environment variables set, which it must ignore.
package main

import (
	"fmt"
	"os"
	"strconv"

	"github.com/mmapvec/persistence/table"
)

type row struct {
	ID  int64
	Val float64
}

func main() {
	n, err := strconv.Atoi(os.Args[2])
	if err != nil {
		panic(err)
	}
	t, err := table.Open[row](os.Args[1], nil)
	if err != nil {
		panic(err)
	}
	for i := range n {
		if err := t.Append(row{ID: int64(i), Val: float64(i) / 2}); err != nil {
			panic(err)
		}
	}
	if err := t.SetRow(0, row{ID: 0, Val: -1}); err != nil {
		panic(err)
	}
	if err := t.Close(); err != nil {
		panic(err)
	}
	fmt.Println("appended", n)
}
