package mmap_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/mmapvec/persistence/mmap"
)

var fuzzOpts = mmap.Options{Tag: [8]byte{'f', 'u', 'z', 'z'}, DataVersion: 3}

// FuzzHeader opens files whose header page is arbitrary, followed by a body
// of the given size: every open either fails with one of the package's
// sentinel errors (or an *os.PathError) or succeeds with a length the file
// holds, and a refused open writes nothing. The seed corpus is
// testdata/fuzz/FuzzHeader; f.Add adds a valid header made here.
func FuzzHeader(f *testing.F) {
	dir := f.TempDir()
	valid := filepath.Join(dir, "valid.col")
	v, err := mmap.Open[int64](valid, &fuzzOpts)
	if err != nil {
		f.Fatal(err)
	}
	if err := v.Append(1, 2, 3); err != nil {
		f.Fatal(err)
	}
	if err := v.Sync(); err != nil {
		f.Fatal(err)
	}
	if err := v.Close(); err != nil {
		f.Fatal(err)
	}
	b, err := os.ReadFile(valid)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b[:4096], uint16(3), false)
	f.Add(b[:4096], uint16(3), true)
	f.Add(b[:4096], uint16(0), false)
	f.Add(b[:100], uint16(0), true)
	f.Fuzz(func(t *testing.T, page []byte, elems uint16, readOnly bool) {
		path := filepath.Join(t.TempDir(), "v.col")
		img := page
		if len(page) >= 4096 {
			img = append(page[:4096:4096], make([]byte, 8*int(elems))...)
		}
		if err := os.WriteFile(path, img, 0o644); err != nil {
			t.Fatal(err)
		}
		o := fuzzOpts
		o.ReadOnly = readOnly
		v, err := mmap.Open[int64](path, &o)
		if err != nil {
			if !typedErr(err) {
				t.Fatalf("untyped error %T: %v", err, err)
			}
			after, rerr := os.ReadFile(path)
			if rerr != nil {
				t.Fatal(rerr)
			}
			if string(after) != string(img) {
				t.Fatal("a refused open changed the file")
			}
			return
		}
		defer v.Close()
		if v.Len() < 0 || v.Len() > v.Cap() || 4096+8*v.Cap() > len(img) {
			t.Fatalf("opened with length %d, capacity %d, from a file of %d bytes", v.Len(), v.Cap(), len(img))
		}
		var sum int64
		for _, x := range v.Slice() {
			sum += x // every element is readable: no fault
		}
		_ = sum
		if !readOnly && v.Len() < v.Cap() {
			if err := v.Push(42); err != nil {
				t.Fatalf("push after open: %v", err)
			}
		}
	})
}

func typedErr(err error) bool {
	for _, e := range []error{mmap.ErrCorrupt, mmap.ErrByteOrder, mmap.ErrFormatVersion, mmap.ErrTag,
		mmap.ErrDataVersion, mmap.ErrElemType, mmap.ErrTooLarge} {
		if errors.Is(err, e) {
			return true
		}
	}
	var pe *os.PathError
	return errors.As(err, &pe)
}
