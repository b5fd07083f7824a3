package bench

import (
	"errors"
	"fmt"
	"slices"
	"unsafe"

	"github.com/mmapvec/persistence/internal/fsutil"
	"golang.org/x/sys/unix"
)

// The private mapping route is the one FORMAT.md weighs for rolling back
// changes made in place that were never synced: map a column's committed
// pages MAP_PRIVATE, so that stores stay in anonymous copies until Sync,
// which finds the copies in /proc/self/pagemap, writes them to the file and
// drops them. The library does not take it; these workloads measure what
// each step would cost on a scratch file. One function builds every case,
// since they share the file and the mapping being measured.

const (
	cowPage  = 4096
	cowWords = cowPage / 8
)

// CowRouteWorkloads time the steps of the private mapping route on a file a
// quarter of LargeBytes (256 MiB at full size), and weigh the memory its
// copies hold.
func CowRouteWorkloads(c Config) []*Workload {
	if !cowRouteOS {
		return nil
	}
	return cowRouteWorkloads(c.LargeBytes / 4)
}

func strideName(stride, pages int) string {
	switch stride {
	case 1:
		return "every page"
	case pages:
		return "1 page"
	}
	return fmt.Sprintf("1 page in %d", stride)
}

func cowRouteWorkloads(size int) []*Workload {
	var s *cowFile
	var m *cowMap // the mapping of the case being measured
	var g uint64  // the value its stores wrote
	var found []int
	pages := size / cowPage
	setup := func() (err error) {
		s, err = newCowFile(size)
		return err
	}
	teardown := func() error {
		if s == nil {
			return nil
		}
		err := errors.Join(m.unmap(), s.close())
		s = nil
		return err
	}

	// An in-place store: the page was read first (its page-table entry
	// exists, read-only), as a committed row usually has been.
	firstStore := func(shared bool) *Case {
		name := "private: first store into a page (copy-on-write fault), per page"
		if shared {
			name = "shared: first store into a clean page, per page"
		}
		return &Case{Name: name, Units: float64(pages),
			Before: func() (err error) {
				if shared { // the pages of other cases' write-backs are dirty
					if err := fsutil.DataSync(s.f); err != nil {
						return err
					}
				}
				if m, err = s.mapWhole(shared); err != nil {
					return err
				}
				sink = m.load(1)
				g = s.next()
				return nil
			},
			Run: func() error { m.store(1, g); return nil },
			After: func() (err error) {
				defer func() { err = errors.Join(err, m.unmap()) }()
				if err := m.holds(1, g); err != nil {
					return err
				}
				if err := s.fileHolds(1, g, shared); err != nil {
					return err
				}
				if !shared {
					found, err = s.changedExactly(m, 1, found)
				}
				return err
			}}
	}
	var again [2]*cowMap // shared, private: mapped once, every page stored
	secondStore := func(shared bool) *Case {
		i, name := 1, "private: store into a copied page, per page"
		if shared {
			i, name = 0, "shared: store into a dirty page, per page"
		}
		return &Case{Name: name, Units: float64(pages), Self: true,
			Setup: func() (err error) {
				again[i], err = s.mapWhole(shared)
				return err
			},
			// A pass stored first, untimed: another case's fdatasync may
			// have cleaned the shared pages since the last one.
			Before: func() error { again[i].store(1, s.next()); g = s.next(); return nil },
			Run:    func() error { again[i].store(1, g); return nil },
			After: func() error {
				if err := again[i].holds(1, g); err != nil {
					return err
				}
				return s.fileHolds(1, g, shared)
			},
			Teardown: func() error { return again[i].unmap() },
		}
	}

	// Finding the changed pages over the whole mapping, every page present
	// (read), some written: a read of the pagemap, an entry per page, or
	// the PAGEMAP_SCAN ioctl, which returns the matching ranges alone.
	scan := func(stride int, ioctl bool) *Case {
		var sm *cowMap
		var hits []int
		how := "pagemap read"
		if ioctl {
			how = "PAGEMAP_SCAN ioctl"
		}
		find := func() (err error) {
			if ioctl {
				hits, err = s.scanChanged(sm, hits[:0])
			} else {
				hits, err = s.changed(sm, hits[:0])
			}
			if err == nil && len(hits) != s.count(stride) {
				err = fmt.Errorf("%s finds %d private pages, want %d", how, len(hits), s.count(stride))
			}
			return err
		}
		return &Case{Name: fmt.Sprintf("%s, %s written, per GiB mapped", how, strideName(stride, pages)),
			Units: float64(size) / (1 << 30), Self: true,
			Setup: func() (err error) {
				if sm, err = s.mapWhole(false); err != nil {
					return err
				}
				sink = sm.load(1)
				sm.store(stride, s.next())
				if hits, err = s.changedExactly(sm, stride, hits); err != nil {
					return err
				}
				want := slices.Clone(hits)
				if err := find(); err != nil || !slices.Equal(hits, want) {
					return errors.Join(err, fmt.Errorf("%s and the pagemap read disagree", how))
				}
				return nil
			},
			Run:      find,
			Teardown: func() error { return sm.unmap() },
		}
	}

	// Sync's write-back of the changed pages, and the fault that the next
	// read of each then takes.
	written := func(stride int) (err error) {
		if m, err = s.mapWhole(false); err != nil {
			return err
		}
		sink = m.load(1)
		g = s.next()
		m.store(stride, g)
		found, err = s.changedExactly(m, stride, found)
		return err
	}
	writeBack := func(stride int) *Case {
		return &Case{Name: fmt.Sprintf("write-back of %s written: pwrite + MADV_DONTNEED, per page", strideName(stride, pages)),
			Units: float64(strideCount(pages, stride)), Self: true,
			Before: func() error { return written(stride) },
			Run:    func() error { return s.writeBack(m, found) },
			After: func() (err error) {
				defer func() { err = errors.Join(err, m.unmap()) }()
				if found, err = s.changed(m, found[:0]); err != nil {
					return err
				}
				if len(found) != 0 {
					return fmt.Errorf("%d private pages left after the write-back", len(found))
				}
				if err := s.fileHolds(stride, g, true); err != nil {
					return err
				}
				return m.holds(stride, g)
			}}
	}
	refault := func(stride int) *Case {
		return &Case{Name: fmt.Sprintf("read after the write-back of %s written (a fault), per page", strideName(stride, pages)),
			Units: float64(strideCount(pages, stride)), Self: true,
			Before: func() error {
				if err := written(stride); err != nil {
					return err
				}
				return s.writeBack(m, found)
			},
			Run: func() error { sink = m.load(stride); return nil },
			After: func() (err error) {
				defer func() { err = errors.Join(err, m.unmap()) }()
				if n, err := s.fileMapped(m, stride); err != nil || n != s.count(stride) {
					return errors.Join(err, fmt.Errorf("%d of %d pages read back map the file", n, s.count(stride)))
				}
				return m.holds(stride, g)
			}}
	}

	// Moving the committed boundary: one range, private below it and
	// shared above, where a Sync remaps the rows appended since the last
	// one private.
	remap := func(step int) *Case {
		half := size / 2
		step = min(step, half/4)
		steps := min(half/step, 64)
		var base unsafe.Pointer
		var region []byte
		return &Case{Name: fmt.Sprintf("remap %d KiB from shared to private (MAP_FIXED), per call", step>>10),
			Units: float64(steps), Self: true,
			Setup: func() (err error) {
				base, err = s.mapAt(nil, 0, size, true)
				if err == nil {
					region = unsafe.Slice((*byte)(base), size)
				}
				return err
			},
			Before: func() error {
				if _, err := s.mapAt(base, 0, half, false); err != nil {
					return err
				}
				if _, err := s.mapAt(unsafe.Pointer(&region[half]), half, size-half, true); err != nil {
					return err
				}
				// The rows appended since: their pages written through the shared range.
				w := unsafe.Slice((*uint64)(base), size/8)
				g = s.next()
				for off := half; off < half+steps*step; off += cowPage {
					w[off/8] = g
				}
				return nil
			},
			Run: func() error {
				for i := range steps {
					off := half + i*step
					if _, err := s.mapAt(unsafe.Pointer(&region[off]), off, step, false); err != nil {
						return err
					}
				}
				return nil
			},
			After: func() error {
				// Each remapped range is private now: a store stays out of the file.
				w := unsafe.Slice((*uint64)(base), size/8)
				v := s.next()
				for i := range steps {
					w[(half+i*step)/8] = v
				}
				return s.fileWords(1, func(p int, fw uint64) error {
					off := p * cowPage
					if off >= half && off < half+steps*step && (off-half)%step == 0 && fw != g {
						return fmt.Errorf("page %d holds %d in the file after a store into its private mapping, want %d", p, fw, g)
					}
					return nil
				})
			},
			Teardown: func() error {
				if base == nil {
					return nil
				}
				err := unix.MunmapPtr(base, uintptr(size))
				base, region = nil, nil
				return err
			},
		}
	}

	const notes = "A scratch file, written and fdatasynced (its pages in the page cache, clean), mapped whole; a store writes one word of a page, after a read of every page (their page-table entries exist, as for rows already read)."
	cases := []*Case{firstStore(true), firstStore(false), secondStore(true), secondStore(false),
		scan(pages, false), scan(100, false), scan(1, false)}
	if pagemapScanWorks() {
		cases = append(cases, scan(pages, true), scan(100, true), scan(1, true))
	}
	cases = append(cases, writeBack(100), writeBack(1), refault(100), refault(1), remap(cowPage), remap(1<<20))
	times := &Workload{
		Name: "Private mapping route", Size: bytesName(size), Unit: PerOp, FiguresOnly: true,
		Lib: "shared: first store into a clean page, per page",
		Notes: []string{notes,
			"Per-page figures divide one pass by the pages it touched; a pagemap scan reads one entry for every page of the mapping (all present) and is shown per GiB mapped; a remap moves the boundary between a private and a shared range over pages just written through the shared one.",
			"Each round checks what was measured: a shared store reaches the file and a private one does not, the pagemap finds exactly the pages written, the write-back leaves no private page and the file holding the stores, a remapped range keeps stores out of the file.",
		},
		Setup:    setup,
		Teardown: teardown,
		Cases:    cases,
	}

	// Memory: the anonymous pages of the mapping (its smaps entry), which
	// the private route holds besides the file's page-cache pages.
	held := func(shared bool, stride int, synced bool) (float64, error) {
		hm, err := s.mapWhole(shared)
		if err != nil {
			return 0, err
		}
		defer hm.unmap()
		sink = hm.load(1)
		hm.store(stride, s.next())
		want := int64(s.count(stride)) * cowPage
		if shared {
			want = 0
		}
		if synced {
			if found, err = s.changedExactly(hm, stride, found); err != nil {
				return 0, err
			}
			if err := s.writeBack(hm, found); err != nil {
				return 0, err
			}
			want = 0
		}
		anon, err := s.anonBytes(hm)
		if err == nil && anon != want {
			err = fmt.Errorf("the mapping holds %d anonymous bytes, want %d", anon, want)
		}
		return float64(anon), err
	}
	probe := func(name string, shared bool, stride int, synced bool) *Case {
		return &Case{Name: name, Self: true, Probe: func() (float64, error) { return held(shared, stride, synced) }}
	}
	memory := &Workload{
		Name: "Private mapping route memory", Size: bytesName(size), Unit: Bytes, FiguresOnly: true, Reps: 3,
		Lib:      "private, every page written",
		Notes:    []string{"Anonymous memory of the mapping (its /proc/self/smaps entry) after one store into each page written, checked to be exactly those pages, and none once a write-back (pwrite + MADV_DONTNEED) dropped them; the file's page-cache pages are held besides, as for a shared mapping."},
		Setup:    setup,
		Teardown: teardown,
		Cases: []*Case{
			probe("private, 1 page in 100 written", false, 100, false),
			probe("private, every page written", false, 1, false),
			probe("private, every page written, then written back", false, 1, true),
			probe("shared, every page written", true, 1, false),
		},
	}
	return []*Workload{times, memory}
}
