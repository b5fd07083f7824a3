package table

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/mmapvec/persistence"
	"github.com/mmapvec/persistence/column"
	"github.com/mmapvec/persistence/lockfile"
	"github.com/mmapvec/persistence/mmap"
)

// Options configure [Open]. nil means the zero value; every zero field is a
// sensible default.
type Options struct {
	// ReadOnly opens under a shared lock, maps PROT_READ and never writes,
	// not even to finish recovery. A missing table is an error.
	ReadOnly bool
	// LockTimeout is how long to wait for a lock held by another process
	// (or handle); 0 fails at once with an error naming the holder's pid.
	LockTimeout time.Duration
	// DataVersion is the user's version of the record type, stored in every
	// column file; opening with another fails with mmap.ErrDataVersion.
	DataVersion uint32
}

// Recovery says what Open found and did.
type Recovery struct {
	// Created is set when Open created the table.
	Created bool
	// Source is where the row count came from: "new", "live" (the last
	// writer ran in this boot: every completed append is kept), or
	// "committed" (another boot: the table is as of the last Sync).
	Source string
	// Rows is the row count the table opened with; CommittedRows is the
	// count in the commit record.
	Rows, CommittedRows int
	// Cut lists, per column, the rows dropped to make the columns equal
	// (an interrupted append, or rows after the last Sync after a reboot).
	Cut map[string]int
	// Intent is the interrupted SetRow, SwapRemove or Truncate that was
	// redone ("" if none); IntentDiscarded one that was dropped because it
	// came after the last Sync of an earlier boot.
	Intent, IntentDiscarded string
	// CommitSlotDamaged is set when one COMMIT slot was torn or damaged and
	// the other was used.
	CommitSlotDamaged bool
	// ExtraFiles are files in the directory that are not the table's.
	ExtraFiles []string
	// CPUMissing and CPUAdded are CPU features of the creating machine that
	// this one lacks, and the reverse. Informational only.
	CPUMissing, CPUAdded []string
}

// Changed reports whether recovery changed or dropped anything.
func (r Recovery) Changed() bool {
	return len(r.Cut) > 0 || r.Intent != "" || r.IntentDiscarded != "" || r.CommitSlotDamaged
}

func (r Recovery) String() string {
	var parts []string
	switch {
	case r.Created:
		parts = append(parts, "created")
	default:
		parts = append(parts, fmt.Sprintf("%d rows from the %s length (%d committed)", r.Rows, r.Source, r.CommittedRows))
	}
	for name, n := range r.Cut {
		parts = append(parts, fmt.Sprintf("cut %d rows of column %s", n, name))
	}
	if r.Intent != "" {
		parts = append(parts, "redid "+r.Intent)
	}
	if r.IntentDiscarded != "" {
		parts = append(parts, "discarded "+r.IntentDiscarded)
	}
	if r.CommitSlotDamaged {
		parts = append(parts, "one COMMIT slot damaged, used the other")
	}
	if len(r.ExtraFiles) > 0 {
		parts = append(parts, "extra files: "+strings.Join(r.ExtraFiles, ", "))
	}
	return strings.Join(parts, "; ")
}

// Table is a persistent struct-of-arrays table of rows of type R: each
// column of R is a memory-mapped column file in the table's directory.
//
// A Table's methods must not be called concurrently with each other.
// Column views ([Column]) may be read by other goroutines while one
// goroutine appends, below a length they read from the view.
type Table[R any] struct {
	dir   string
	opts  Options
	lock  *lockfile.Lock
	man   *persistence.Manifest
	hash  uint64
	cols  []*column.Column
	raws  []*mmap.Raw // the columns' files, for the append path
	mover *column.Mover[R]

	rows   int          // the writer's row count
	length atomic.Int64 // rows, published for column views in other goroutines
	minCap int          // smallest column capacity: appends below it need no growth

	commit  *os.File
	seq     uint64
	slotIdx int
	journal *journal
	scratch []byte // one packed row
	stage   []byte // staging buffer for large AppendRows

	// Sync's reusable buffers.
	lengths   []uint64
	slotBuf   []byte
	flushErrs []error // one per column, written by the flush goroutines

	recovery Recovery
	poison   error
	closed   bool
	untyped  bool // R is Any: the schema comes from the manifest
}

// Any, as a table's row type, opens any table with the schema its manifest
// records, for tools that inspect, check or repair tables they do not know
// the Go type of. A writable open still recovers the table; after that,
// Len, Columns, Manifest and Recovered work, while every call that changes
// rows (and Sync) fails with [ErrType] and Row panics.
type Any struct{}

// Dir returns the table's directory.
func (t *Table[R]) Dir() string { return t.dir }

// Len returns the number of rows.
func (t *Table[R]) Len() int { return t.rows }

// Manifest returns the table's manifest.
func (t *Table[R]) Manifest() persistence.Manifest { return *t.man }

// Recovered says what Open found and did.
func (t *Table[R]) Recovered() Recovery { return t.recovery }

// Columns returns the table's columns, in schema order.
func (t *Table[R]) Columns() []*column.Column { return append([]*column.Column(nil), t.cols...) }

func (t *Table[R]) check(write bool) error {
	switch {
	case t.closed:
		return ErrClosed
	case write && t.untyped:
		return fmt.Errorf("%w: a table opened as table.Any has no row type", ErrType)
	case t.poison != nil:
		return t.poison
	case write && t.opts.ReadOnly:
		return fmt.Errorf("%w: %s", ErrReadOnly, t.dir)
	}
	return nil
}

// Close unmaps and closes every file and releases the lock, in reverse
// order of opening. It does not Sync: rows appended since the last Sync
// survive a process crash, not an OS crash. It is idempotent.
func (t *Table[R]) Close() error {
	if t.closed {
		return nil
	}
	t.closed = true
	t.rows = 0 // like the column views, which are empty after Close
	t.length.Store(0)
	var errs []error
	errs = append(errs, t.journal.close())
	if t.commit != nil {
		errs = append(errs, t.commit.Close())
	}
	for _, c := range t.cols {
		errs = append(errs, c.Raw().Close())
	}
	if t.lock != nil {
		errs = append(errs, t.lock.Release())
	}
	return errors.Join(errs...)
}
