//go:build unix

package lockfile

import (
	"errors"
	"fmt"
)

// ErrLocked is returned (wrapped in a [*LockedError]) when another holder
// has the lock.
var ErrLocked = errors.New("lockfile: locked by another holder")

// ErrNotRegular is returned (in an *os.PathError) when the lock file's path
// holds something else than a regular file: a directory, a FIFO, a symlink.
var ErrNotRegular = errors.New("lockfile: not a regular file")

// LockedError says which file is locked and, when it can be found, by whom.
type LockedError struct {
	Path      string
	Exclusive bool // the mode that was asked for
	PID       int  // holder's pid, 0 if unknown
	Waited    bool // true when a timeout expired
	// SameProcess is set when the holder is this process: another open
	// file (another handle) of it holds the lock, and only closing that
	// handle, or using it instead, helps.
	SameProcess bool
}

func (e *LockedError) Error() string {
	mode := "shared"
	if e.Exclusive {
		mode = "exclusive"
	}
	msg := fmt.Sprintf("lockfile: %s: %s lock refused", e.Path, mode)
	if e.Waited {
		msg += " after waiting"
	}
	switch {
	case e.SameProcess:
		return msg + fmt.Sprintf(": held by this process (pid %d) through another handle; release that lock first, or use that handle", e.PID)
	case e.PID > 0:
		msg += fmt.Sprintf(": held by pid %d", e.PID)
	default:
		msg += ": held by another process or handle"
	}
	if !e.Exclusive {
		// Only an exclusive holder refuses a shared lock.
		return msg + " for writing (wait until it closes, or retry with a lock timeout)"
	}
	return msg + " (close the other holder, or open read-only or with a lock timeout)"
}

// Is makes errors.Is(err, ErrLocked) true.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }
