package lockfile

import (
	"errors"
	"fmt"
)

// ErrLocked is returned (wrapped in a [*LockedError]) when another holder
// has the lock.
var ErrLocked = errors.New("lockfile: locked by another holder")

// ErrReleased is returned by methods called after [Lock.Release].
var ErrReleased = errors.New("lockfile: released")

// LockedError says which file is locked and, when it can be found, by whom.
type LockedError struct {
	Path      string
	Exclusive bool // the mode that was asked for
	PID       int  // holder's pid, 0 if unknown
	Waited    bool // true when a timeout expired
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
	if e.PID > 0 {
		msg += fmt.Sprintf(": held by pid %d", e.PID)
	} else {
		msg += ": held by another process or handle"
	}
	return msg + " (close the other holder, or open read-only / with a lock timeout)"
}

// Is makes errors.Is(err, ErrLocked) true.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }
