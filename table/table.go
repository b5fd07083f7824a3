package table

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"time"

	"github.com/mmapvec/persistence"
	"github.com/mmapvec/persistence/internal/colfile"
	"github.com/mmapvec/persistence/internal/colset"
	"github.com/mmapvec/persistence/internal/rowcodec"
	"github.com/mmapvec/persistence/internal/varcol"
	"github.com/mmapvec/persistence/lockfile"
)

// Options configure [Open]. nil means the zero value; every zero field is a
// sensible default.
type Options struct {
	// ReadOnly opens a reader: it maps PROT_READ and never writes, not even
	// to finish recovery, and it opens beside a writer (in any process,
	// this one included) and beside other readers. A missing table is an
	// error. See the package doc, "Readers beside a writer".
	ReadOnly bool
	// SyncedOnly makes a reader see only the rows as of the writer's last
	// Sync, instead of every completed append.
	SyncedOnly bool
	// SavePoint opens the table as of its last Sync, as if the machine had
	// restarted: rows appended since are dropped even after a mere crash
	// of the process (the default keeps every completed append). Changes
	// in place since that Sync are as after a power cut (see the package
	// doc, "Durability"). On a reader beside a running writer it shows
	// what SyncedOnly shows: the rows as of the writer's last Sync.
	SavePoint bool
	// LockTimeout is how long to wait for a lock held by another process
	// (or handle); 0 fails at once with an error naming the holder's pid.
	// A reader also waits this long (at least a second) for the writer to
	// finish a change in place, before [ErrBusy].
	LockTimeout time.Duration
	// DataVersion is the user's version of the record type, stored in every
	// column file; opening with another fails with [ErrDataVersion].
	DataVersion uint32
	// DropColumns lets a writable open drop the stored columns that the
	// record type lacks, with their data. Without it such an open fails
	// with [ErrSchema], naming them.
	DropColumns bool
	// MaxValueSize caps the length of one string or []byte value (and of
	// a Symbol) in bytes; a longer one fails with [ErrValueTooLarge] and
	// nothing of its row is written. 0 means [DefaultMaxValueSize].
	MaxValueSize int
	// MaxSymbols caps the distinct non-empty values of each Symbol column;
	// a row that would add one more fails with [ErrSymbolLimit] and is not
	// written. 0 means [DefaultMaxSymbols]; at most 2^32-1.
	MaxSymbols int
	// NoPretouch stops a writer from running the goroutine that faults in
	// the pages just past its columns' ends before Append reaches them
	// (see the package doc, "Appends"): appends then take a page fault per
	// new page of each column, and no other goroutine runs.
	NoPretouch bool
	// LogSize is the bytes of records the write-ahead log holds (see the
	// package doc, "Durability"): a Sync whose record does not fit in what
	// is left of it checkpoints instead, flushing every column. 0 means
	// [DefaultLogSize]; from [MinLogSize] to [MaxLogSize], else the open
	// fails with [ErrOptions]. It sizes the log when the table first needs
	// one; an existing log keeps its size.
	LogSize int
}

// Table is a persistent struct-of-arrays table of rows of type R: each
// column of R is a memory-mapped column file in the table's directory.
//
// A Table's methods must not be called concurrently with each other.
// Column views ([Column]) may be read by other goroutines while one
// goroutine appends, below a length they read from the view.
type Table[R any] struct {
	core
	codec *rowcodec.Codec[R]
}

// newTable returns a Table[R] of dir to open with o, whose opens ready
// R's codec.
func newTable[R any](dir string, o Options) *Table[R] {
	rt := reflect.TypeFor[R]()
	t := &Table[R]{core: core{dir: dir, opts: o, rowType: rt, untyped: rt == reflect.TypeFor[Any]()}}
	t.bindCodec = func(cols []*colset.Column, offsets []int, external []bool) rowCodec {
		if cols == nil {
			t.codec = nil
			return nil
		}
		t.codec = rowcodec.New[R](cols, offsets, external)
		return t.codec
	}
	return t
}

// rowCodec is what the untyped code of a table calls of its row codec.
type rowCodec interface {
	Refresh()
	PackedSize() int
}

// core is a table's state and every method that touches no row of type R:
// compiled once, where each method of Table[R] is compiled again for each
// row type a program uses.
type core struct {
	dir  string
	opts Options
	lock *lockfile.Lock
	man  *persistence.Manifest
	hash uint64
	set  *colset.Set // the columns: files, published row count, capacity

	// bindCodec readies the row codec of the Table[R] this is the state
	// of for the columns just opened (cols nil: drops it), the one step
	// of an open that needs R; rc is that codec, nil for Any.
	bindCodec func(cols []*colset.Column, offsets []int, external []bool) rowCodec
	rc        rowCodec
	rowType   reflect.Type // R

	schema schema   // R's columns as this table stores them (none for Any)
	vars   []varCol // the variable-length columns, in manifest order (varcols.go)

	rows   int         // the row count, as set.Len (read on the hot paths)
	minCap int         // set.MinCap, or 0 when appends must take the checked path
	pre    *pretoucher // faults in the pages ahead of the writer (pretouch.go)

	readers   *readersPage // the page shared with readers (nil for a legacy reader)
	inPlace   int          // depth of the writer's changes in place (readers see them as one)
	noReaders bool         // Migrate keeps readers out around its callback: Compact needs no lock of its own
	liveFiles bool         // recovery found every file written in this boot (before SavePoint's choice)

	commit     *os.File
	commitNext bool // a reader's COMMIT may still be COMMIT.next (readSchemaPending)
	seq        uint64
	slotIdx    int
	journal    *journal
	scratch    []byte        // one packed row
	stage      []byte        // staging buffer for large AppendRows
	heapStage  []byte        // staging buffers for the values of a large AppendRows
	spanStage  []varcol.Span // and their spans

	// Sync's reusable buffer.
	slotBuf []byte

	// The commit path (sync.go, wal.go, wal_open.go, group.go).
	wal            *os.File        // the write-ahead log; nil in a table made without one, until a Sync needs it
	walFailed      bool            // making the log failed (a full disk): this open checkpoints
	cow            bool            // on a copy-on-write file system: no unguarded Append (fault.go)
	opened         bool            // the open succeeded: Close may checkpoint
	walSize        int             // its size
	walOff         int             // where the next record goes
	walSlotIdx     int             // its meta slot written last
	walFiles       []*colfile.File // every file, in the log's order (nil: not mapped here)
	walElem        []int           // their element sizes
	walElemFile    []bool          // which of them hold rows (the others heaps and dictionaries)
	viewedFile     []bool          // which a writable view was handed out for: flushed whole at every Sync
	viewedFiles    []*colfile.File // those files
	synced         []int           // each file's length at the last Sync
	syncedRows     int             // the rows at the last Sync, lowered by removals since
	dirty          []int           // rows below syncedRows changed in place since the last Sync
	dirtyAll       bool            // too many to log: the next Sync checkpoints
	checkpointNext bool            // the next Sync checkpoints (the first of an open; a new view)
	meta           []byte          // the meta of the last Sync
	writersMeta    writersMeta     // a reader's: the running writer's, as Meta last read it
	logged         int             // Syncs logged since the last checkpoint
	lastRows       int             // the rows of the last Sync
	lastLengths    []uint64        // and its COMMIT lengths
	enc            walEncoder
	group          groupCommit

	recovery Recovery
	poison   error
	closed   bool
	untyped  bool // R is Any: the schema comes from the manifest
}

// Any, as a table's row type, opens any table with the schema its manifest
// records, for tools that inspect, check or repair tables they do not know
// the Go type of. A writable open still recovers the table; after that,
// Len, Manifest, Recovered, Check and the column views work, while every
// call that changes rows (and Sync) fails with [ErrType] and Row panics.
type Any struct{}

// Dir returns the table's directory.
func (t *core) Dir() string { return t.dir }

// Len returns the number of rows; 0 after Close.
func (t *core) Len() int { return t.rows }

// Manifest returns the table's manifest.
func (t *core) Manifest() persistence.Manifest { return *t.man }

// Recovered says what Open found and did.
func (t *core) Recovered() Recovery { return t.recovery }

func (t *core) check(write bool) error {
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
func (t *core) Close() error {
	if t.closed {
		return nil
	}
	// The last Sync's state becomes the files' own before they close.
	errs := []error{t.closeLog()}
	t.closed = true
	t.rows, t.minCap = 0, 0 // like the column views, which are empty after Close
	errs = append(errs, t.closeFiles())
	if t.lock != nil {
		errs = append(errs, t.lock.Release())
	}
	return errors.Join(errs...)
}

// closeFiles closes every file but the lock, in reverse order of opening.
func (t *core) closeFiles() error {
	t.stopPretouch() // before any mapping is fenced
	var errs []error
	errs = append(errs, t.journal.close(), t.readers.close())
	if t.wal != nil {
		errs = append(errs, t.wal.Close())
		t.wal = nil
	}
	if t.commit != nil {
		errs = append(errs, t.commit.Close())
	}
	if t.set != nil {
		errs = append(errs, t.set.Close()) // views see the table closed before any unmap
	}
	errs = append(errs, t.closeVars())
	// The set stays (closed) for the column views; the rest cannot be
	// closed twice.
	t.journal, t.readers, t.commit = nil, nil, nil
	return errors.Join(errs...)
}
