package mmap_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/mmapvec/persistence/mmap"
)

// Each benchmark has a heap twin measured in the same run: compare them
// with benchstat, not with numbers from another day.

func openBench(b *testing.B) *mmap.Vec[int64] {
	b.Helper()
	v, err := mmap.Open[int64](filepath.Join(b.TempDir(), "v.col"), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = v.Close() })
	return v
}

func BenchmarkPush(b *testing.B) {
	b.Run("impl=vec", func(b *testing.B) {
		v := openBench(b)
		b.ReportAllocs()
		b.SetBytes(8)
		i := int64(0)
		for b.Loop() {
			if err := v.Push(i); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("impl=heap", func(b *testing.B) {
		var s []int64
		b.ReportAllocs()
		b.SetBytes(8)
		i := int64(0)
		for b.Loop() {
			s = append(s, i)
			i++
		}
		_ = s
	})
}

func BenchmarkAppendBulk(b *testing.B) {
	const n = 1 << 20
	src := make([]int64, n)
	for i := range src {
		src[i] = int64(i)
	}
	b.Run(fmt.Sprintf("impl=vec/elems=%d", n), func(b *testing.B) {
		v := openBench(b)
		b.ReportAllocs()
		b.SetBytes(8 * n)
		for b.Loop() {
			if err := v.Truncate(0); err != nil {
				b.Fatal(err)
			}
			if err := v.Append(src...); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run(fmt.Sprintf("impl=heap/elems=%d", n), func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(8 * n)
		var s []int64
		for b.Loop() {
			s = append(s[:0:0], src...)
		}
		_ = s
	})
}

func BenchmarkGet(b *testing.B) {
	const n = 1 << 16
	v := openBench(b)
	heap := make([]int64, n)
	for i := range n {
		_ = v.Push(int64(i))
		heap[i] = int64(i)
	}
	b.Run("impl=vec", func(b *testing.B) {
		b.ReportAllocs()
		var sum int64
		i := 0
		for b.Loop() {
			sum += v.Get(i & (n - 1))
			i++
		}
		_ = sum
	})
	b.Run("impl=heap", func(b *testing.B) {
		b.ReportAllocs()
		var sum int64
		i := 0
		for b.Loop() {
			sum += heap[i&(n-1)]
			i++
		}
		_ = sum
	})
}

// sum is the scan kernel shared by both sides.
func sum(s []int64) int64 {
	var t int64
	for _, x := range s {
		t += x
	}
	return t
}

func BenchmarkScan(b *testing.B) {
	const n = 1 << 24 // 128 MiB
	v := openBench(b)
	src := make([]int64, n)
	for i := range src {
		src[i] = int64(i)
	}
	if err := v.Append(src...); err != nil {
		b.Fatal(err)
	}
	// Let writeback finish, so that it does not compete with the scan.
	if err := v.Sync(); err != nil {
		b.Fatal(err)
	}
	b.Run("impl=vec/elems=16M", func(b *testing.B) {
		b.SetBytes(8 * n)
		b.ReportAllocs()
		for b.Loop() {
			if sum(v.Slice()) != n*(n-1)/2 {
				b.Fatal("bad sum")
			}
		}
	})
	b.Run("impl=heap/elems=16M", func(b *testing.B) {
		b.SetBytes(8 * n)
		b.ReportAllocs()
		for b.Loop() {
			if sum(src) != n*(n-1)/2 {
				b.Fatal("bad sum")
			}
		}
	})
}

func BenchmarkSync(b *testing.B) {
	v := openBench(b)
	b.ReportAllocs()
	b.SetBytes(8)
	for b.Loop() {
		_ = v.Push(1)
		if err := v.Sync(); err != nil {
			b.Fatal(err)
		}
	}
}
