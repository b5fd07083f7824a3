// Files written on other architectures: the committed golden files of
// each byte order open, or are refused naming the byte orders.

package torture_test

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/mmapvec/persistence"
	"github.com/mmapvec/persistence/mmap"
	"github.com/mmapvec/persistence/table"
)

var update = flag.Bool("update", false, "write this architecture's golden files in testdata/golden")

const goldenRows = 100

// goldenArchs are the architectures whose golden files are committed, and
// their byte orders.
var goldenArchs = map[string]string{"amd64": "little-endian", "s390x": "big-endian"}

func goldenVec(arch string) string { return filepath.Join("testdata", "golden", "vec-"+arch+".col") }

func goldenTable(arch string) string { return filepath.Join("testdata", "golden", "table-"+arch) }

// TestGolden opens the Vec and the table written on each architecture of
// goldenArchs: files of this machine's byte order open with their rows,
// files of the other are refused with mmap.ErrByteOrder (a Vec) or
// table.ErrArch (a table), with an error that names the byte orders. With
// -update it first writes this architecture's files (run it once on each,
// e.g. GOARCH=s390x go test -exec qemu-s390x-static -run TestGolden -update).
func TestGolden(t *testing.T) {
	track(t)
	if *update {
		writeGolden(t)
	}
	native := persistence.HostArch().ByteOrder
	for arch, order := range goldenArchs {
		t.Run("vec-"+arch, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "v.col")
			copyFile(t, goldenVec(arch), path)
			v, err := mmap.Open[row](path, &mmap.Options{Tag: vecOpts.Tag, ReadOnly: true})
			if order != native {
				if !errors.Is(err, mmap.ErrByteOrder) || !strings.Contains(err.Error(), order) || !strings.Contains(err.Error(), native) {
					t.Fatalf("a %s file on a %s machine: want ErrByteOrder naming both orders, got %v", order, native, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer v.Close()
			if v.Len() != goldenRows {
				t.Fatalf("%d elements, want %d", v.Len(), goldenRows)
			}
			for i, r := range v.Slice() {
				if r != mkRow(uint64(i), valOf(uint64(i))) {
					t.Fatalf("element %d is %+v", i, r)
				}
			}
		})
		t.Run("table-"+arch, func(t *testing.T) {
			dir := copyDir(t, goldenTable(arch))
			tb, err := openTable(dir, true)
			if order != native {
				if !errors.Is(err, table.ErrArch) || !strings.Contains(err.Error(), "byte order") || !strings.Contains(err.Error(), order) {
					t.Fatalf("a %s table on a %s machine: want ErrArch naming the byte order, got %v", order, native, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer tb.Close()
			got, err := readRows(tb)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != goldenRows {
				t.Fatalf("%d rows, want %d", len(got), goldenRows)
			}
			for i, r := range got {
				if r != mkTRow(uint64(i), valOf(uint64(i))) {
					t.Fatalf("row %d is %+v", i, r)
				}
			}
		})
	}
	t.Logf("golden files of %d architectures checked on %s (%s)", len(goldenArchs), runtime.GOARCH, native)
}

// writeGolden writes this architecture's golden Vec and table, synced and
// cut to their rows so that they stay small.
func writeGolden(t *testing.T) {
	if _, ok := goldenArchs[runtime.GOARCH]; !ok {
		t.Fatalf("no golden files for %s; add it to goldenArchs", runtime.GOARCH)
	}
	if err := os.MkdirAll(filepath.Join("testdata", "golden"), 0o755); err != nil {
		t.Fatal(err)
	}
	path := goldenVec(runtime.GOARCH)
	_ = os.Remove(path)
	v, err := mmap.Open[row](path, &mmap.Options{Tag: vecOpts.Tag})
	if err != nil {
		t.Fatal(err)
	}
	for i := range goldenRows {
		if err := v.Push(mkRow(uint64(i), valOf(uint64(i)))); err != nil {
			t.Fatal(err)
		}
	}
	if err := v.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, int64(4096+24*goldenRows)); err != nil {
		t.Fatal(err)
	}
	dir := goldenTable(runtime.GOARCH)
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	tb, err := table.Open[trow](dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range goldenRows {
		if err := tb.Append(mkTRow(uint64(i), valOf(uint64(i)))); err != nil {
			t.Fatal(err)
		}
	}
	if err := tb.Sync(); err != nil {
		t.Fatal(err)
	}
	for _, c := range tb.Manifest().Columns {
		defer func() {
			if err := os.Truncate(filepath.Join(dir, c.File), int64(4096+goldenRows*c.Layout.Size)); err != nil {
				t.Fatal(err)
			}
		}()
	}
	if err := tb.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s and %s", path, dir)
}
