package table

import (
	"errors"
	"fmt"

	"github.com/mmapvec/persistence"
	"github.com/mmapvec/persistence/internal/errs"
	"github.com/mmapvec/persistence/lockfile"
)

// Errors returned by this package; returned errors wrap them with details.
// The ones shared with the layers below (ErrCorrupt, ErrClosed, ...) are
// the same values as the mmap package's, so errors.Is works alike on both.
var (
	// ErrCorrupt: a table file is damaged or inconsistent with the others.
	// Every specific damage (a bad checksum, a length past a file, ...)
	// matches it as well.
	ErrCorrupt = errs.ErrCorrupt
	// ErrNotTable: the directory holds files but no table.
	ErrNotTable = errors.New("table: not a table directory")

	// ErrOptions reports an Options field out of its range.
	ErrOptions = errors.New("table: invalid options")
	// ErrNeedsRecovery: a read-only open found an interrupted SetRow,
	// SwapRemove, Truncate, Delete or DeleteFunc that only a writable open
	// can finish.
	ErrNeedsRecovery = errors.New("table: interrupted operation; open writable once to recover")
	// ErrType: the record type cannot be a table's row (not a struct, no
	// columns, a field that is not fixed-size and pointer-free, bad names).
	ErrType = errs.ErrType
	// ErrNoColumn: no column of that name, or of that type.
	ErrNoColumn = errors.New("table: no such column")
	// ErrElemType: a column file holds elements of another type than the
	// manifest says.
	ErrElemType = errs.ErrElemType
	// ErrDataVersion: the table has another data version than the one
	// opened with.
	ErrDataVersion = errs.ErrDataVersion

	// ErrClosed: the table was closed. Every method with an error result
	// returns it after Close; Row panics saying so.
	ErrClosed = errs.ErrClosed
	// ErrReadOnly: a change to a table opened read-only.
	ErrReadOnly = errs.ErrReadOnly
	// ErrRange: a row index or count outside the table, wrapped with the
	// index and the length (SetRow, SwapRemove, Truncate, Delete,
	// ReadRows). Row, which has no error result, panics instead, like a
	// slice index.
	ErrRange = errs.ErrRange
	// ErrChanged: the func given to DeleteFunc changed the table's length;
	// DeleteFunc changed nothing. Also a reader's export (interop/export)
	// that found a value the writer set in place while it read.
	ErrChanged = errors.New("table: the table changed during the call")
	// ErrPoisoned: an earlier Sync failed; nothing since the last good Sync
	// is durable, and the table must be closed and reopened.
	ErrPoisoned = errs.ErrPoisoned
	// ErrFault: a store into a column's mapping faulted, as a full
	// copy-on-write file system (btrfs) makes it; the table is poisoned
	// (it matches ErrPoisoned too). Free space, then reopen: the open
	// recovers as after a crash.
	ErrFault = errs.ErrFault
	// ErrNoLog: SyncMeta on a table without its write-ahead log, which
	// holds the meta, and the log could not be made (a full disk). Nothing
	// was committed, and the table is not poisoned: it stays as of its last
	// Sync, and Sync still commits its rows.
	ErrNoLog = errors.New("table: the write-ahead log cannot be made")

	// ErrReaders: readers have the table open, and the operation (such as
	// [Repair]) would rewrite or remove files they map. The error is a
	// [*ReadersError] with their pids; it matches [ErrLocked] too.
	ErrReaders = errors.New("table: readers have the table open")
	// ErrBusy: a reader waited longer than its lock timeout for the writer
	// to finish a change in place ([Table.Consistent], [Table.Refresh]).
	ErrBusy = errors.New("table: the writer is changing rows in place")

	// ErrValueTooLarge: a string, []byte or Symbol value is longer than
	// [Options.MaxValueSize]; nothing of its row was written. It matches
	// mmap.ErrTooLarge too.
	ErrValueTooLarge = errs.ErrValueTooLarge
	// ErrTooLarge: a size past a limit of the format or of the table's
	// (SyncMeta's meta past [MaxSyncMeta]); ErrValueTooLarge matches it too.
	ErrTooLarge = errs.ErrTooLarge
	// ErrSymbolLimit: a Symbol column's dictionary holds
	// [Options.MaxSymbols] distinct values, and the row would add one
	// more; it was not written.
	ErrSymbolLimit = errs.ErrSymbolLimit

	// Re-exported for convenience.
	ErrLocked = lockfile.ErrLocked
	ErrArch   = persistence.ErrArch
	ErrSchema = persistence.ErrSchema
)

// lockError reports a lock refused when opening dir. A refusal by another
// handle of this same process gets its own words: the lockfile's advice
// (another process, a timeout, a read-only open) does not fit a caller who
// may have opened read-only already, and who holds the other handle.
func lockError(dir string, err error, readOnly bool) error {
	if errors.Is(err, lockfile.ErrNotRegular) {
		// Something else in the lock file's place is a damaged table.
		return fmt.Errorf("table: %s: %w", dir, corrupt{err})
	}
	var le *lockfile.LockedError
	if !errors.As(err, &le) || !le.SameProcess {
		return fmt.Errorf("table: %s: %w", dir, err)
	}
	what := "another handle in this process (pid %d) has the table open; close it first, or use it if it is writable"
	if readOnly {
		// Only a writer refuses a reader.
		what = "another handle in this process (pid %d) holds the table writable; close it first, or use that handle"
	}
	return &lockedHere{msg: fmt.Sprintf("table: %s: "+what, dir, le.PID), err: err}
}

// lockedHere keeps the *lockfile.LockedError (errors.As, errors.Is with
// ErrLocked) under a message of its own.
type lockedHere struct {
	msg string
	err error
}

func (e *lockedHere) Error() string { return e.msg }
func (e *lockedHere) Unwrap() error { return e.err }

// corrupt makes an error of a lower layer match [ErrCorrupt] as well as its
// own sentinels, keeping its message.
type corrupt struct{ err error }

func (e corrupt) Error() string   { return e.err.Error() }
func (e corrupt) Unwrap() []error { return []error{e.err, ErrCorrupt} }
