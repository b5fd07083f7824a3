package table

import (
	"errors"
	"fmt"

	"github.com/mmapvec/persistence"
	"github.com/mmapvec/persistence/lockfile"
	"github.com/mmapvec/persistence/mmap"
)

// Errors returned by this package; returned errors wrap them with details.
// Errors from the layers below (mmap's, lockfile's, the manifest's) are
// wrapped intact, so errors.Is works with them too.
var (
	// ErrCorrupt: a table file is damaged or inconsistent with the others.
	// mmap.ErrCorrupt errors from column files match it as well.
	ErrCorrupt = errors.New("table: corrupt")
	// ErrNotTable: the directory holds files but no table.
	ErrNotTable = errors.New("table: not a table directory")
	// ErrNeedsRecovery: a read-only open found an interrupted SetRow,
	// SwapRemove or Truncate that only a writable open can finish.
	ErrNeedsRecovery = errors.New("table: interrupted operation; open writable once to recover")
	// ErrType: the record type cannot be a table's row (not a struct, no
	// columns, a field that is not fixed-size and pointer-free, bad names).
	ErrType = errors.New("table: unsuitable record type")
	// ErrNoColumn: no column of that name, or of that type.
	ErrNoColumn = errors.New("table: no such column")

	// ErrClosed: the table was closed. Every method with an error result
	// returns it after Close; Row panics saying so.
	ErrClosed   = errors.New("table: closed")
	ErrReadOnly = errors.New("table: opened read-only")
	// ErrRange: a row index or count outside the table, wrapped with the
	// index and the length (SetRow, SwapRemove, Truncate). Row, which has no
	// error result, panics instead, like a slice index.
	ErrRange = errors.New("table: row index out of range")
	// ErrPoisoned: an earlier Sync failed; nothing since the last good Sync
	// is durable, and the table must be closed and reopened.
	ErrPoisoned = errors.New("table: an earlier sync failed; close and reopen")

	// Re-exported for convenience.
	ErrLocked = lockfile.ErrLocked
	ErrArch   = persistence.ErrArch
	ErrSchema = persistence.ErrSchema
)

// corruptError wraps a lower-level corruption error so that it matches
// [ErrCorrupt] as well as its own sentinels.
type corruptError struct{ err error }

func (e *corruptError) Error() string   { return e.err.Error() }
func (e *corruptError) Unwrap() []error { return []error{e.err, ErrCorrupt} }

// classify makes every kind of file damage match ErrCorrupt.
func classify(err error) error {
	if err != nil && errors.Is(err, mmap.ErrCorrupt) && !errors.Is(err, ErrCorrupt) {
		return &corruptError{err}
	}
	return err
}

// lockError reports a lock refused when opening dir. A refusal by another
// handle of this same process gets its own words: the lockfile's advice
// (another process, a timeout, a read-only open) does not fit a caller who
// may have opened read-only already, and who holds the other handle.
func lockError(dir string, err error, readOnly bool) error {
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
