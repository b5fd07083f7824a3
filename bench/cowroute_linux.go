package bench

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

const cowRouteOS = true

// Bits of a /proc/self/pagemap entry (Documentation/admin-guide/mm/pagemap.rst).
const (
	pmPresent = 1 << 63
	pmFile    = 1 << 61 // a file page or shared anonymous; clear on a private copy
)

// pagemap reads the entry of every page of m into s.pmBuf.
func (s *cowFile) pagemap(m *cowMap) error {
	off := int64(uintptr(unsafe.Pointer(&m.b[0])) / cowPage * 8)
	_, err := s.pm.ReadAt(s.pmBuf[:8*(len(m.b)/cowPage)], off)
	return err
}

// changed appends to into the pages of m that hold a private copy: present
// and not a file page.
func (s *cowFile) changed(m *cowMap, into []int) ([]int, error) {
	if err := s.pagemap(m); err != nil {
		return into, err
	}
	for p := range len(m.b) / cowPage {
		if e := binary.NativeEndian.Uint64(s.pmBuf[8*p:]); e&pmPresent != 0 && e&pmFile == 0 {
			into = append(into, p)
		}
	}
	return into, nil
}

// fileMapped counts the pages of a stride that map the file's page.
func (s *cowFile) fileMapped(m *cowMap, stride int) (n int, err error) {
	if err := s.pagemap(m); err != nil {
		return 0, err
	}
	for p := 0; p < len(m.b)/cowPage; p += stride {
		if e := binary.NativeEndian.Uint64(s.pmBuf[8*p:]); e&pmPresent != 0 && e&pmFile != 0 {
			n++
		}
	}
	return n, nil
}

// PAGEMAP_SCAN (Linux 6.7+) returns only the ranges whose pages match, so
// that finding a few private copies need not copy an entry for every page.
const (
	pagemapScan = 0xc0606610 // _IOWR('f', 16, struct pm_scan_arg)
	pageIsFile  = 1 << 2
	pageIsPres  = 1 << 3
)

type pmScanArg struct {
	size, flags, start, end, walkEnd, vec, vecLen, maxPages       uint64
	categoryInverted, categoryMask, categoryAnyofMask, returnMask uint64
}

type pageRegion struct{ start, end, categories uint64 }

// scanChanged is changed by the PAGEMAP_SCAN ioctl, in calls of up to
// len(s.regions) runs of adjacent pages.
func (s *cowFile) scanChanged(m *cowMap, into []int) ([]int, error) {
	if s.regions == nil {
		s.regions = make([]pageRegion, 512)
	}
	lo := uint64(uintptr(unsafe.Pointer(&m.b[0])))
	hi := lo + uint64(len(m.b))
	for at := lo; at < hi; {
		arg := pmScanArg{size: uint64(unsafe.Sizeof(pmScanArg{})), start: at, end: hi,
			vec: uint64(uintptr(unsafe.Pointer(&s.regions[0]))), vecLen: uint64(len(s.regions)),
			categoryInverted: pageIsFile, categoryMask: pageIsPres | pageIsFile, returnMask: pageIsPres | pageIsFile}
		n, _, errno := unix.Syscall(unix.SYS_IOCTL, s.pm.Fd(), pagemapScan, uintptr(unsafe.Pointer(&arg)))
		if errno != 0 {
			return into, fmt.Errorf("PAGEMAP_SCAN: %w", errno)
		}
		for _, r := range s.regions[:n] {
			for a := r.start; a < r.end; a += cowPage {
				into = append(into, int((a-lo)/cowPage))
			}
		}
		if arg.walkEnd <= at {
			return into, fmt.Errorf("PAGEMAP_SCAN stopped at %#x", arg.walkEnd)
		}
		at = arg.walkEnd
	}
	return into, nil
}

// pagemapScanWorks says whether the kernel has PAGEMAP_SCAN.
func pagemapScanWorks() bool {
	f, err := os.Open("/proc/self/pagemap")
	if err != nil {
		return false
	}
	defer f.Close()
	s := &cowFile{pm: f}
	buf := make([]byte, 2*cowPage) // heap memory: the kernel writes no region for it, and it does not move
	b := buf[cowPage-uintptr(unsafe.Pointer(&buf[0]))%cowPage:][:cowPage]
	_, err = s.scanChanged(&cowMap{b: b}, nil)
	return err == nil
}

// anonBytes is the Anonymous figure of m's entries in /proc/self/smaps.
func (s *cowFile) anonBytes(m *cowMap) (int64, error) {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	lo := uint64(uintptr(unsafe.Pointer(&m.b[0])))
	hi := lo + uint64(len(m.b))
	var total int64
	in, seen := false, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if start, end, ok := vmaRange(line); ok {
			in = start >= lo && end <= hi
			seen = seen || in
			continue
		}
		if v, ok := strings.CutPrefix(line, "Anonymous:"); ok && in {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("smaps: %q: %w", line, err)
			}
			total += kb << 10
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	if !seen {
		return 0, fmt.Errorf("smaps lists no mapping at %#x", lo)
	}
	return total, nil
}

// vmaRange parses the "start-end perms ..." line that opens an smaps entry.
func vmaRange(line string) (start, end uint64, ok bool) {
	field, _, _ := strings.Cut(line, " ")
	a, b, ok := strings.Cut(field, "-")
	if !ok {
		return 0, 0, false
	}
	start, err1 := strconv.ParseUint(a, 16, 64)
	end, err2 := strconv.ParseUint(b, 16, 64)
	return start, end, err1 == nil && err2 == nil
}
