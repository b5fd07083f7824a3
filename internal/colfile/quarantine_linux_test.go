package colfile

import (
	"os"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mappedAt reports whether the page at addr is part of some mapping: an
// mmap with MAP_FIXED_NOREPLACE there fails with EEXIST if so.
func mappedAt(t *testing.T, addr unsafe.Pointer) bool {
	if os.Getenv("PERSIST_TEST_EXEC") != "" {
		t.Skip("under an emulator (PERSIST_TEST_EXEC) the guest's address space is the emulator's: the probe does not see its mappings")
	}
	p, err := unix.MmapPtr(-1, 0, addr, pageSize, unix.PROT_NONE, unix.MAP_PRIVATE|unix.MAP_ANON|unix.MAP_FIXED_NOREPLACE)
	if err == unix.EEXIST {
		return true
	}
	if err != nil {
		t.Fatalf("probe mmap: %v", err)
	}
	_ = unix.MunmapPtr(p, pageSize)
	return false
}

// pages maps n pages to close one by one, as the kernel places a process's
// mappings: next to one another.
func pages(t *testing.T, n int) unsafe.Pointer {
	base, err := unix.MmapPtr(-1, 0, nil, uintptr(n)*pageSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		t.Fatal(err)
	}
	return base
}

// The quarantine keeps the most recently closed ranges up to its byte
// limit, oldest out first, even where they touch and count as one run: the
// range closed last is always still fenced (a merged run was once evicted
// whole, the newest close with it).
func TestQuarantineKeepsTheNewest(t *testing.T) {
	saved := quarantineBytes
	defer func() { quarantineBytes = saved }()
	quarantineBytes = 4 * pageSize
	const n = 8
	base := pages(t, n)
	var q closedRanges
	defer q.drain()
	for i := range n {
		addr := unsafe.Add(base, uintptr(i)*pageSize)
		if err := q.add(mapping{addr, pageSize}); err != nil {
			t.Fatal(err)
		}
		if !mappedAt(t, addr) {
			t.Fatalf("close %d: the range closed just now was unmapped (%d ranges, %d bytes kept; limit %d)", i, len(q.ranges), q.bytes, quarantineBytes)
		}
		if i >= 4 && mappedAt(t, unsafe.Add(base, uintptr(i-4)*pageSize)) {
			t.Fatalf("close %d: the range closed 4 closes ago is still kept past the limit of 4 pages", i)
		}
	}
	if q.runs != 1 || q.bytes != 4*pageSize {
		t.Errorf("4 touching pages kept: %d runs and %d bytes, want 1 and %d", q.runs, q.bytes, 4*pageSize)
	}
}

// Runs count the stretches of touching ranges, as the kernel counts their
// merged fences: closes that touch join a run, a gap starts one, and the
// oldest range leaving from inside a run splits it.
func TestQuarantineCountsRuns(t *testing.T) {
	base := pages(t, 6)
	at := func(i int) mapping { return mapping{unsafe.Add(base, uintptr(i)*pageSize), pageSize} }
	var q closedRanges
	defer q.drain()
	for _, step := range []struct {
		page, runs int
	}{
		{2, 1}, // alone
		{4, 2}, // a gap from 2
		{3, 1}, // fills it: 2-4 is one run
		{0, 2}, // apart
		{1, 1}, // 0-4 is one run
	} {
		if err := q.add(at(step.page)); err != nil {
			t.Fatal(err)
		}
		if q.runs != step.runs {
			t.Fatalf("after closing page %d: %d runs, want %d", step.page, q.runs, step.runs)
		}
	}
	// Drop the oldest (page 2, inside 0-4) as the limit would.
	saved := quarantineBytes
	defer func() { quarantineBytes = saved }()
	quarantineBytes = 5 * pageSize
	if err := q.add(at(5)); err != nil { // 0-5 before the drop
		t.Fatal(err)
	}
	if q.runs != 2 {
		t.Errorf("page 2 dropped from the run 0-5: %d runs, want 2 (0-1 and 3-5)", q.runs)
	}
	if mappedAt(t, at(2).addr) || !mappedAt(t, at(5).addr) {
		t.Errorf("page 2 dropped from the run 0-5: page 2 kept %v, page 5 kept %v", mappedAt(t, at(2).addr), mappedAt(t, at(5).addr))
	}
}
