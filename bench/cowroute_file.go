package bench

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"unsafe"

	"github.com/mmapvec/persistence/internal/fsutil"
	"golang.org/x/sys/unix"
)

// cowFile is the scratch file: every page's first word holds its number,
// written and fdatasynced, so that its pages are in the page cache and clean.
type cowFile struct {
	dir     string
	f       *os.File
	size    int
	pages   int
	gen     uint64       // the value the latest store pass wrote
	pm      *os.File     // /proc/self/pagemap
	pmBuf   []byte       // one pagemap entry per page
	regions []pageRegion // PAGEMAP_SCAN's answer
	chunk   []byte       // reused by the checks that read the file
}

func newCowFile(size int) (s *cowFile, err error) {
	if size < 2*cowPage || size%cowPage != 0 {
		return nil, fmt.Errorf("scratch file of %d bytes: want a multiple of %d, at least two pages", size, cowPage)
	}
	s = &cowFile{size: size, pages: size / cowPage, gen: 1 << 32,
		pmBuf: make([]byte, 8*(size/cowPage)), chunk: make([]byte, min(size, 1<<20))}
	defer func() {
		if err != nil {
			err = errors.Join(err, s.close())
		}
	}()
	if s.dir, err = TempDir("cowroute"); err != nil {
		return nil, err
	}
	if s.f, err = os.OpenFile(filepath.Join(s.dir, "scratch"), os.O_CREATE|os.O_RDWR, 0o644); err != nil {
		return s, err
	}
	for off := 0; off < size; off += len(s.chunk) {
		clear(s.chunk)
		for p := 0; p < len(s.chunk); p += cowPage {
			binary.NativeEndian.PutUint64(s.chunk[p:], uint64((off+p)/cowPage))
		}
		if _, err := s.f.WriteAt(s.chunk, int64(off)); err != nil {
			return s, err
		}
	}
	if err := fsutil.DataSync(s.f); err != nil {
		return s, err
	}
	s.pm, err = os.Open("/proc/self/pagemap")
	return s, err
}

func (s *cowFile) close() error {
	var errs []error
	for _, f := range []*os.File{s.pm, s.f} {
		if f != nil {
			errs = append(errs, f.Close())
		}
	}
	if s.dir != "" {
		errs = append(errs, os.RemoveAll(s.dir))
	}
	return errors.Join(errs...)
}

// next is a value no page held before.
func (s *cowFile) next() uint64 {
	s.gen++
	return s.gen
}

// count is the number of pages of a stride: every stride-th page, from 0.
func (s *cowFile) count(stride int) int { return strideCount(s.pages, stride) }

func strideCount(pages, stride int) int { return (pages + stride - 1) / stride }

// cowMap is one mapping of the whole scratch file, as bytes and as words.
type cowMap struct {
	b []byte
	w []uint64
}

// mapAt maps n bytes of the file from off, at addr when it is not nil.
func (s *cowFile) mapAt(addr unsafe.Pointer, off, n int, shared bool) (unsafe.Pointer, error) {
	flags := unix.MAP_PRIVATE
	if shared {
		flags = unix.MAP_SHARED
	}
	if addr != nil {
		flags |= unix.MAP_FIXED
	}
	p, err := unix.MmapPtr(int(s.f.Fd()), int64(off), addr, uintptr(n), unix.PROT_READ|unix.PROT_WRITE, flags)
	if err == nil && addr != nil && p != addr {
		err = fmt.Errorf("MAP_FIXED mapped at %p, not %p", p, addr)
	}
	return p, err
}

func (s *cowFile) mapWhole(shared bool) (*cowMap, error) {
	p, err := s.mapAt(nil, 0, s.size, shared)
	if err != nil {
		return nil, err
	}
	return &cowMap{b: unsafe.Slice((*byte)(p), s.size), w: unsafe.Slice((*uint64)(p), s.size/8)}, nil
}

// unmap is safe on nil and twice, so that Teardown can always call it.
func (m *cowMap) unmap() error {
	if m == nil || m.b == nil {
		return nil
	}
	err := unix.MunmapPtr(unsafe.Pointer(&m.b[0]), uintptr(len(m.b)))
	m.b, m.w = nil, nil
	return err
}

// store writes v into the first word of every stride-th page.
func (m *cowMap) store(stride int, v uint64) {
	for i := 0; i < len(m.w); i += stride * cowWords {
		m.w[i] = v
	}
}

// load sums the first word of every stride-th page.
func (m *cowMap) load(stride int) (sum uint64) {
	for i := 0; i < len(m.w); i += stride * cowWords {
		sum += m.w[i]
	}
	return sum
}

// holds checks that the mapping shows v in every stride-th page.
func (m *cowMap) holds(stride int, v uint64) error {
	for i := 0; i < len(m.w); i += stride * cowWords {
		if m.w[i] != v {
			return fmt.Errorf("page %d shows %d through the mapping, want %d", i/cowWords, m.w[i], v)
		}
	}
	return nil
}

// fileWords calls ok with the first word of every stride-th page as the
// file holds it, read with pread rather than through a mapping.
func (s *cowFile) fileWords(stride int, ok func(page int, w uint64) error) error {
	for off := 0; off < s.size; off += len(s.chunk) {
		n := min(len(s.chunk), s.size-off)
		if _, err := s.f.ReadAt(s.chunk[:n], int64(off)); err != nil {
			return err
		}
		for p := (off/cowPage + stride - 1) / stride * stride; p*cowPage < off+n; p += stride {
			if err := ok(p, binary.NativeEndian.Uint64(s.chunk[p*cowPage-off:])); err != nil {
				return err
			}
		}
	}
	return nil
}

// fileHolds checks that the file holds v (or, with want false, anything
// but v) in every stride-th page.
func (s *cowFile) fileHolds(stride int, v uint64, want bool) error {
	return s.fileWords(stride, func(p int, w uint64) error {
		if (w == v) != want {
			return fmt.Errorf("the file holds %d in page %d after storing %d through the mapping (want it there: %v)", w, p, v, want)
		}
		return nil
	})
}

// writeBack is what a Sync would do with the pages the scan found: pwrite
// each run of adjacent pages from the mapping to the file, then drop the
// private copies so that the mapping reads the file again.
func (s *cowFile) writeBack(m *cowMap, pages []int) error {
	for i := 0; i < len(pages); {
		j := i + 1
		for j < len(pages) && pages[j] == pages[j-1]+1 {
			j++
		}
		run := m.b[pages[i]*cowPage : (pages[j-1]+1)*cowPage]
		if _, err := s.f.WriteAt(run, int64(pages[i]*cowPage)); err != nil {
			return err
		}
		if err := unix.Madvise(run, unix.MADV_DONTNEED); err != nil {
			return err
		}
		i = j
	}
	return nil
}

// changedExactly checks that the pagemap finds the stride's pages and no other.
func (s *cowFile) changedExactly(m *cowMap, stride int, found []int) ([]int, error) {
	found, err := s.changed(m, found[:0])
	if err != nil {
		return found, err
	}
	if len(found) != s.count(stride) {
		return found, fmt.Errorf("pagemap finds %d private pages, want %d (every %d-th page)", len(found), s.count(stride), stride)
	}
	for i, p := range found {
		if p != i*stride {
			return found, fmt.Errorf("pagemap finds page %d private, want page %d", p, i*stride)
		}
	}
	return found, nil
}
