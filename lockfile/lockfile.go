//go:build unix

package lockfile

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Options say how to take a lock. The zero value (and nil) means an
// exclusive lock that fails at once if it is held elsewhere.
type Options struct {
	// Shared asks for a shared (reader) lock instead of an exclusive one.
	Shared bool
	// Timeout is how long to wait for a held lock; 0 means do not wait.
	Timeout time.Duration
	// NoCreate makes Acquire fail if the lock file does not exist, and
	// open it without write access when Shared: a read-only user writes
	// nothing.
	NoCreate bool
}

// Lock is a held flock. Its methods are safe for concurrent use.
type Lock struct {
	mu     sync.Mutex
	f      *os.File
	owned  bool // f was opened by Acquire and is closed by Release
	path   string
	shared bool
	id     fileID
	known  bool // id was read, and counted in held
}

// Acquire opens (creating it if needed) the lock file at path and locks it.
// An exclusive holder writes "pid <pid> started <RFC 3339 time>" into the
// file. A refused lock returns a [*LockedError] that satisfies
// errors.Is(err, [ErrLocked]).
func Acquire(path string, opts *Options) (*Lock, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	fi, err := os.Lstat(path)
	switch {
	case err == nil && !fi.Mode().IsRegular():
		return nil, &os.PathError{Op: "lockfile", Path: path,
			Err: fmt.Errorf("%w (%s); remove it so a lock file can be created", ErrNotRegular, fi.Mode().Type())}
	case err != nil && !errors.Is(err, os.ErrNotExist):
		return nil, err
	}
	flag := os.O_RDWR | os.O_CREATE
	switch {
	case o.NoCreate && o.Shared:
		flag = os.O_RDONLY
	case o.NoCreate:
		flag = os.O_RDWR
	}
	f, err := os.OpenFile(path, flag|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
	if err != nil && o.Shared && errors.Is(err, os.ErrPermission) {
		// A reader may lack write permission on a table it only reads.
		f, err = os.OpenFile(path, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return nil, err
	}
	l, err := lock(f, path, o)
	if err != nil {
		f.Close()
		return nil, err
	}
	l.owned = true
	if !o.Shared {
		// Best effort: the pid only improves error messages.
		stamp := fmt.Sprintf("pid %d started %s\n", os.Getpid(), processStart.Format(time.RFC3339))
		if err := f.Truncate(0); err == nil {
			_, _ = f.WriteAt([]byte(stamp), 0)
		}
	}
	return l, nil
}

// LockFile locks a file the caller has open, without writing to it. The
// caller keeps ownership of f; [Lock.Release] unlocks but does not close it.
func LockFile(f *os.File, opts *Options) (*Lock, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	return lock(f, f.Name(), o)
}

var processStart = time.Now()

func lock(f *os.File, path string, o Options) (*Lock, error) {
	how := unix.LOCK_EX
	if o.Shared {
		how = unix.LOCK_SH
	}
	deadline := time.Now().Add(o.Timeout)
	sleep := time.Millisecond
	for {
		err := flock(f, how|unix.LOCK_NB)
		if err == nil {
			l := &Lock{f: f, path: path, shared: o.Shared}
			if l.id, l.known = idOf(f); l.known {
				hold(l.id)
			}
			return l, nil
		}
		if err != unix.EWOULDBLOCK {
			return nil, &os.PathError{Op: "flock", Path: path, Err: err}
		}
		if o.Timeout <= 0 || time.Now().After(deadline) {
			return nil, refused(f, path, o)
		}
		// flock has no timed form; poll with a capped backoff.
		time.Sleep(min(sleep, time.Until(deadline)+time.Millisecond))
		sleep = min(2*sleep, 50*time.Millisecond)
	}
}

func flock(f *os.File, how int) error {
	for {
		err := unix.Flock(int(f.Fd()), how)
		if err != unix.EINTR {
			return err
		}
	}
}

// refused describes a lock on f that could not be taken.
func refused(f *os.File, path string, o Options) *LockedError {
	e := &LockedError{Path: path, Exclusive: !o.Shared, Waited: o.Timeout > 0}
	id, ok := idOf(f)
	e.PID = holderFromKernel(f)
	switch {
	case (ok && heldHere(id)) || e.PID == os.Getpid():
		e.PID, e.SameProcess = os.Getpid(), true
	case e.PID == 0:
		e.PID = holderFromFile(f)
		if e.PID == os.Getpid() {
			// This process wrote it and has since let go: whoever holds the
			// lock now (a shared holder) did not write its pid.
			e.PID = 0
		}
	}
	return e
}

// holderFromFile returns the pid that the last exclusive holder wrote into
// f, or 0.
func holderFromFile(f *os.File) int {
	buf := make([]byte, 64)
	n, _ := f.ReadAt(buf, 0)
	return parsePID(string(buf[:n]))
}

func parsePID(s string) int {
	fields := strings.Fields(s)
	if len(fields) >= 2 && fields[0] == "pid" {
		if pid, err := strconv.Atoi(fields[1]); err == nil && pid > 0 {
			return pid
		}
	}
	return 0
}

// Path returns the locked file's path.
func (l *Lock) Path() string { return l.path }

// Shared reports whether the lock is shared.
func (l *Lock) Shared() bool { return l.shared }

// Release unlocks (and, for [Acquire], closes the file). It is idempotent:
// calls after the first return nil.
func (l *Lock) Release() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	f := l.f
	l.f = nil
	if l.known {
		defer unhold(l.id)
	}
	if l.owned {
		// Closing the last descriptor releases the flock; the pid is left in
		// the file, where it is stale and ignored.
		return f.Close()
	}
	if err := flock(f, unix.LOCK_UN); err != nil {
		return &os.PathError{Op: "funlock", Path: l.path, Err: err}
	}
	return nil
}

// Holders lists the pids of the processes holding a flock on the file at
// path (shared locks have many holders), as far as the system tells: on
// Linux from /proc/locks, elsewhere nil. It takes no lock. A holder in
// another pid namespace may be missing or shown under another pid.
func Holders(path string) ([]int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return holdersFromKernel(f), nil
}
