package mmap_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/mmapvec/persistence/mmap"
)

func Example() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "ticks.col")

	v, err := mmap.Open[float64](path, &mmap.Options{Tag: [8]byte{'t', 'i', 'c', 'k', 's'}})
	if err != nil {
		log.Fatal(err)
	}
	_ = v.Append(1.5, 2.5)
	_ = v.Push(3)
	s := v.Slice() // a live view into the file
	if err := v.Sync(); err != nil {
		log.Fatal(err)
	}
	fmt.Println(s, v.Len())
	_ = v.Close()

	v, _ = mmap.Open[float64](path, &mmap.Options{Tag: [8]byte{'t', 'i', 'c', 'k', 's'}, ReadOnly: true})
	defer v.Close()
	fmt.Println(v.Get(v.Len() - 1))
	// Output:
	// [1.5 2.5 3] 3
	// 3
}

func ExampleOpen_unsupportedType() {
	_, err := mmap.Open[struct{ Name string }](filepath.Join(os.TempDir(), "never-created.col"), nil)
	fmt.Println(err)
	// Output: persistence: struct { Name string } field Name is a string, which holds pointers or has no fixed size: a fixed-size value cannot hold one: use a fixed [N]byte array, or, in a table, make it a field of the row (a string column of its own)
}
