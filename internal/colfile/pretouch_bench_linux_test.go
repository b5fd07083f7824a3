package colfile_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// BenchmarkTouch compares routes for the pretoucher (FORMAT.md, Pretouch)
// per 4 KiB page of a new allocated file: none, Touch (stores), and
// madvise(MADV_POPULATE_WRITE) in 1 MiB calls. touch-ns/page is what the
// pretoucher's goroutine would spend, store-ns/page what the writer's first
// store into each page costs after it (a page fault, or on a virtual
// machine a host fault, where the page was not ready). Before
// each file, free memory is primed by writing and removing a file of the
// same size, as in the bench harness: on a virtual machine, memory free for
// long has gone back to the host and costs a host fault per page on its
// first use, whichever route takes it.
//
//	go test -run XXX -bench Touch ./internal/colfile/
func BenchmarkTouch(b *testing.B) {
	const pages = 4096 // 16 MiB
	for _, route := range []string{"none", "stores", "populate"} {
		b.Run("route="+route, func(b *testing.B) {
			var touch, store time.Duration
			b.StopTimer()
			for range b.N {
				prime(b, pages*4096)
				f := openU64(b, pages*512)
				s := elems(f)[:pages*512]
				b.StartTimer()
				t0 := time.Now()
				switch route {
				case "stores":
					f.Touch(0, len(s))
				case "populate":
					populate(b, unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s)*8))
				}
				t1 := time.Now()
				for i := 0; i < len(s); i += 512 {
					s[i] = uint64(i) + 1
				}
				touch, store = touch+t1.Sub(t0), store+time.Since(t1)
				b.StopTimer()
				if err := f.Close(); err != nil {
					b.Fatal(err)
				}
				if err := os.Remove(f.Path()); err != nil {
					b.Fatal(err)
				}
			}
			n := float64(b.N * pages)
			b.ReportMetric(0, "ns/op") // the two below split it
			b.ReportMetric(float64(touch.Nanoseconds())/n, "touch-ns/page")
			b.ReportMetric(float64(store.Nanoseconds())/n, "store-ns/page")
		})
	}
}

// populate is madvise(MADV_POPULATE_WRITE) over b, 1 MiB per call.
func populate(tb testing.TB, b []byte) {
	for off := 0; off < len(b); off += 1 << 20 {
		if err := unix.Madvise(b[off:min(off+1<<20, len(b))], unix.MADV_POPULATE_WRITE); err != nil {
			tb.Fatal(err)
		}
	}
}

// prime writes and removes a file of size bytes: see BenchmarkTouch.
func prime(b *testing.B, size int) {
	path := filepath.Join(b.TempDir(), "prime")
	if err := os.WriteFile(path, make([]byte, size), 0o644); err != nil {
		b.Fatal(err)
	}
	if err := os.Remove(path); err != nil {
		b.Fatal(err)
	}
}
