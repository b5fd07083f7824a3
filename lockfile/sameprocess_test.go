package lockfile_test

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence/internal/testproc"
	"github.com/mmapvec/persistence/lockfile"
)

// A lock refused because this very process holds it says so, whatever the
// mode asked for, and gives advice that can help: not "open read-only",
// which a refused shared lock did already.
func TestRefusedBySameProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "LOCK")
	me := strconv.Itoa(os.Getpid())
	for _, holder := range []lockfile.Options{{}, {Shared: true}} {
		l, err := lockfile.Acquire(path, &holder)
		require.NoError(t, err)
		asks := []lockfile.Options{{}}
		if !holder.Shared {
			asks = append(asks, lockfile.Options{Shared: true})
		}
		for _, ask := range asks {
			_, err := lockfile.Acquire(path, &ask)
			require.ErrorIs(t, err, lockfile.ErrLocked)
			var le *lockfile.LockedError
			require.True(t, errors.As(err, &le))
			require.True(t, le.SameProcess, "holder %+v, asked %+v", holder, ask)
			require.Equal(t, os.Getpid(), le.PID)
			require.Contains(t, err.Error(), "held by this process (pid "+me+") through another handle")
			require.NotContains(t, err.Error(), "read-only")
			require.NotContains(t, err.Error(), "timeout")
		}
		require.NoError(t, l.Release())
	}

	// A LockFile holder counts as this process too.
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	require.NoError(t, err)
	defer f.Close()
	l, err := lockfile.LockFile(f, nil)
	require.NoError(t, err)
	_, err = lockfile.Acquire(path, &lockfile.Options{Shared: true})
	var le *lockfile.LockedError
	require.True(t, errors.As(err, &le))
	require.True(t, le.SameProcess)
	require.NoError(t, l.Release())
	l2, err := lockfile.Acquire(path, nil)
	require.NoError(t, err, "released locks are forgotten")
	require.NoError(t, l2.Release())
}

// A lock held by another process names its pid and is not taken for this
// process's own, even though this process wrote its pid into the file
// earlier.
func TestRefusedByOtherProcess(t *testing.T) {
	if testproc.Role() == "hold-shared" {
		_, err := lockfile.Acquire(os.Getenv("PERSIST_TEST_PATH"), &lockfile.Options{Shared: true})
		if err != nil {
			testproc.Say("error %v", err)
			os.Exit(1)
		}
		testproc.Say("holding")
		testproc.Hang()
	}
	if testproc.Role() == "hold" {
		_, err := lockfile.Acquire(os.Getenv("PERSIST_TEST_PATH"), nil)
		if err != nil {
			testproc.Say("error %v", err)
			os.Exit(1)
		}
		testproc.Say("holding")
		testproc.Hang()
	}
	path := filepath.Join(t.TempDir(), "LOCK")
	l, err := lockfile.Acquire(path, nil) // leaves this process's pid in the file
	require.NoError(t, err)
	require.NoError(t, l.Release())

	c := testproc.Start(t, t.Name(), "hold-shared", "PERSIST_TEST_PATH="+path)
	c.Expect(t, "holding", 30*time.Second)
	_, err = lockfile.Acquire(path, nil)
	var le *lockfile.LockedError
	require.True(t, errors.As(err, &le), "%v", err)
	require.False(t, le.SameProcess, "the stale pid in the file is this process's, the holder is not")
	require.NotEqual(t, os.Getpid(), le.PID)
	require.NotContains(t, err.Error(), "this process")
	require.Contains(t, err.Error(), "close the other holder, or open read-only or with a lock timeout")
	c.Kill()

	c = testproc.Start(t, t.Name(), "hold", "PERSIST_TEST_PATH="+path)
	c.Expect(t, "holding", 30*time.Second)
	_, err = lockfile.Acquire(path, &lockfile.Options{Shared: true})
	require.True(t, errors.As(err, &le), "%v", err)
	require.False(t, le.SameProcess)
	require.Equal(t, c.Cmd.Process.Pid, le.PID)
	require.Contains(t, err.Error(), "shared lock refused: held by pid "+strconv.Itoa(c.Cmd.Process.Pid)+" for writing")
	require.NotContains(t, err.Error(), "read-only", "a refused shared lock is not told to open read-only")
	c.Kill()
}
