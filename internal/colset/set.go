package colset

import (
	"errors"
	"fmt"
	"io/fs"
	"sync"

	"github.com/mmapvec/persistence/internal/colfile"
	"github.com/mmapvec/persistence/internal/crashpoint"
	"github.com/mmapvec/persistence/internal/errs"
	"github.com/mmapvec/persistence/internal/layout"
)

// Spec names one column file to open.
type Spec struct {
	Name, Path string
	Layout     layout.Layout
}

// Set is a table's columns. It is not safe for concurrent use, except that
// the columns' views may be read by other goroutines while one publishes.
type Set struct {
	cols   []*Column
	files  []*colfile.File
	length lengthWord // the row count views read; ClosedLength after Close
	rows   int        // the row count, as the writer sees it
	minCap int        // smallest capacity: rows below it need no growth
	shared *uint64    // where readers in other processes read the row count; see PublishTo

	extra     []*colfile.File // flushed with the columns, but no row columns (AlsoFlush)
	flushErrs []error         // one per file, written by the flush goroutines
	flushWG   sync.WaitGroup
	closed    bool
}

// Open opens the column files of specs, in order, with the same options
// (none takes a lock: a table locks its directory). On error the files
// opened so far are closed.
func Open(specs []Spec, o colfile.Options) (*Set, error) {
	s := &Set{}
	for _, sp := range specs {
		f, err := colfile.Open(sp.Path, sp.Layout, &o)
		if errors.Is(err, fs.ErrNotExist) {
			// A set's files are made with its table; one that is gone is
			// damage, never a new empty column.
			err = &errs.FileError{Path: sp.Path, Err: errs.ErrCorrupt, Detail: "the column file is missing"}
		}
		if err != nil {
			return nil, errors.Join(fmt.Errorf("column %q: %w", sp.Name, err), s.Close())
		}
		s.cols = append(s.cols, &Column{name: sp.Name, file: f, length: &s.length})
		s.files = append(s.files, f)
	}
	s.updateMinCap()
	return s, nil
}

// Columns returns the columns, in the order of the specs.
func (s *Set) Columns() []*Column { return s.cols }

// Len returns the row count.
func (s *Set) Len() int { return s.rows }

// MinCap returns the smallest capacity of the columns: appends of rows
// below it need no growth.
func (s *Set) MinCap() int { return s.minCap }

func (s *Set) updateMinCap() {
	s.minCap = 0
	for i, f := range s.files {
		if i == 0 || f.Cap() < s.minCap {
			s.minCap = f.Cap()
		}
	}
}

// Grow makes room for n rows in every column. Growth maps a file at a new
// place: whoever caches the columns' data pointers reloads them after it.
func (s *Set) Grow(n int) error {
	for _, c := range s.cols {
		if err := c.file.EnsureCap(n); err != nil {
			s.updateMinCap()
			return fmt.Errorf("column %q: %w", c.name, err)
		}
	}
	s.updateMinCap()
	return nil
}

// Publish sets the row count to n (at most MinCap): every column's live
// length, column by column, then the count that views read. The rows below
// n are written first. A crash part way leaves unequal column lengths,
// which the next open cuts to the shortest; step names the crash point
// before each column, for the operation's crash tests ("" for none).
func (s *Set) Publish(n int, step string) {
	w := colfile.LiveWord(n)
	if step == "" {
		for _, f := range s.files {
			f.PublishWord(w, n)
		}
	} else {
		for _, f := range s.files {
			crashpoint.Hit(step)
			f.PublishWord(w, n)
		}
	}
	if s.shared != nil {
		// Last, and a release store: a reader that loads it sees
		// every row below it written, in every column.
		storeRelease(s.shared, w)
	}
	s.rows = n
	s.length.publish(n)
}

// PublishTo makes Publish store each row count's live word at p too, last:
// the word that readers in other processes read (the table's READERS page).
// nil stops it.
func (s *Set) PublishTo(p *uint64) { s.shared = p }

// Follow makes a read-only set show n rows, taking in the growth its writer
// made: each file that holds fewer than n elements is mapped again at its
// new size. A file still too short for n is damage (a writer grows every
// file before it publishes a count). It reports whether any mapping moved.
func (s *Set) Follow(n int) (bool, error) {
	moved := false
	for _, c := range s.cols {
		if c.file.Cap() >= n {
			continue
		}
		m, err := c.file.Follow()
		moved = moved || m
		if err != nil {
			return moved, fmt.Errorf("column %q: %w", c.name, err)
		}
	}
	s.updateMinCap()
	for _, c := range s.cols {
		if err := c.file.SetLen(n); err != nil {
			return moved, fmt.Errorf("column %q: %w", c.name, err)
		}
	}
	s.rows = n
	s.length.Store(int64(n))
	return moved, nil
}

// SetLen sets the row count that recovery decided, with the columns'
// checked SetLen (a read-only set only shows it), and, on a writable set,
// records this boot as the writer's in every column.
func (s *Set) SetLen(n int) error {
	for _, c := range s.cols {
		crashpoint.Hit("table.recover.column") // a kill between columns: the next open redoes them all
		if err := c.file.SetLen(n); err != nil {
			return fmt.Errorf("column %q: %w", c.name, err)
		}
		if c.file.ReadOnly() {
			continue
		}
		if err := c.file.Adopt(); err != nil {
			return fmt.Errorf("column %q: %w", c.name, err)
		}
	}
	s.rows = n
	s.length.Store(int64(n))
	return nil
}

// Flush is the data barrier: every column is fdatasync'ed, in parallel
// goroutines so that the file system can serve them with one journal
// commit. Each file whose data a commit depends on needs its own
// fdatasync: a write-back of the others plus one shared device flush is not
// durable on copy-on-write file systems (btrfs, XFS reflinked extents),
// where only the synced file gets its new block pointers logged.
func (s *Set) Flush() error {
	if len(s.files) == 0 {
		return nil
	}
	n := len(s.files) + len(s.extra)
	if len(s.flushErrs) != n {
		s.flushErrs = make([]error, n)
	}
	// go with a method and arguments, not a closure: no allocation per Sync.
	s.flushWG.Add(n - 1)
	for i := 1; i < n; i++ {
		go s.flushOne(i)
	}
	s.flushErrs[0] = s.files[0].Flush() // this goroutine takes one itself
	s.flushWG.Wait()
	return errors.Join(s.flushErrs...)
}

func (s *Set) flushOne(i int) {
	if i < len(s.files) {
		s.flushErrs[i] = s.files[i].Flush()
	} else {
		s.flushErrs[i] = s.extra[i-len(s.files)].Flush()
	}
	s.flushWG.Done()
}

// AlsoFlush makes Flush flush files too, in parallel with the columns: the
// files that the rows point into (a string column's heap), whose data a
// commit depends on as much as on the columns'. The caller closes them.
func (s *Set) AlsoFlush(files ...*colfile.File) { s.extra = append(s.extra, files...) }

// Close marks the set closed for its views, then closes every file. It is
// idempotent.
func (s *Set) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	s.rows = 0
	s.length.Store(ClosedLength)
	var errs []error
	for _, f := range s.files {
		errs = append(errs, f.Close())
	}
	return errors.Join(errs...)
}
