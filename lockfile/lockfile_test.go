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

func TestExclusiveExcludes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "LOCK")
	l, err := lockfile.Acquire(path, nil)
	require.NoError(t, err)
	_, err = lockfile.Acquire(path, nil)
	require.ErrorIs(t, err, lockfile.ErrLocked)
	var le *lockfile.LockedError
	require.True(t, errors.As(err, &le))
	require.Equal(t, os.Getpid(), le.PID)
	require.Contains(t, err.Error(), path)
	require.Contains(t, err.Error(), "pid "+strconv.Itoa(os.Getpid()))
	_, err = lockfile.Acquire(path, &lockfile.Options{Shared: true})
	require.ErrorIs(t, err, lockfile.ErrLocked)
	require.NoError(t, l.Release())
	require.NoError(t, l.Release(), "Release is idempotent")
	l2, err := lockfile.Acquire(path, nil)
	require.NoError(t, err)
	require.NoError(t, l2.Release())
}

func TestSharedShares(t *testing.T) {
	path := filepath.Join(t.TempDir(), "LOCK")
	a, err := lockfile.Acquire(path, &lockfile.Options{Shared: true})
	require.NoError(t, err)
	b, err := lockfile.Acquire(path, &lockfile.Options{Shared: true})
	require.NoError(t, err)
	_, err = lockfile.Acquire(path, nil)
	require.ErrorIs(t, err, lockfile.ErrLocked)
	require.NoError(t, a.Release())
	require.NoError(t, b.Release())
}

func TestTimeout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "LOCK")
	l, err := lockfile.Acquire(path, nil)
	require.NoError(t, err)
	start := time.Now()
	_, err = lockfile.Acquire(path, &lockfile.Options{Timeout: 100 * time.Millisecond})
	require.ErrorIs(t, err, lockfile.ErrLocked)
	require.GreaterOrEqual(t, time.Since(start), 100*time.Millisecond)
	require.Contains(t, err.Error(), "after waiting")

	go func() { time.Sleep(50 * time.Millisecond); _ = l.Release() }()
	l2, err := lockfile.Acquire(path, &lockfile.Options{Timeout: 5 * time.Second})
	require.NoError(t, err, "a wait succeeds once the holder releases")
	require.NoError(t, l2.Release())
}

func TestNotARegularFile(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(dir, "LOCK"), 0o755))
	_, err := lockfile.Acquire(filepath.Join(dir, "LOCK"), nil)
	require.Error(t, err)
	require.Contains(t, err.Error(), "not a regular file")
	require.NoError(t, os.Symlink("/etc/passwd", filepath.Join(dir, "LINK")))
	_, err = lockfile.Acquire(filepath.Join(dir, "LINK"), nil)
	require.Error(t, err, "a symlink is not followed")
}

func TestHolderKilledReleases(t *testing.T) {
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
	c := testproc.Start(t, "TestHolderKilledReleases", "hold", "PERSIST_TEST_PATH="+path)
	c.Expect(t, "holding", 30*time.Second)
	_, err := lockfile.Acquire(path, nil)
	require.ErrorIs(t, err, lockfile.ErrLocked)
	require.Contains(t, err.Error(), "pid "+strconv.Itoa(c.Cmd.Process.Pid), "the error names the holder")
	c.Kill()
	l, err := lockfile.Acquire(path, nil)
	require.NoError(t, err, "a SIGKILLed holder's lock is free")
	require.NoError(t, l.Release())
}

func TestLockFileDoesNotWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data")
	require.NoError(t, os.WriteFile(path, []byte("payload"), 0o644))
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	require.NoError(t, err)
	defer f.Close()
	l, err := lockfile.LockFile(f, nil)
	require.NoError(t, err)
	g, err := os.Open(path)
	require.NoError(t, err)
	defer g.Close()
	_, err = lockfile.LockFile(g, &lockfile.Options{Shared: true})
	require.ErrorIs(t, err, lockfile.ErrLocked)
	require.NoError(t, l.Release())
	b, _ := os.ReadFile(path)
	require.Equal(t, "payload", string(b))
}
