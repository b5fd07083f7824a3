package mmap_test

import (
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence/internal/bootid"
	"github.com/mmapvec/persistence/internal/testproc"
	"github.com/mmapvec/persistence/mmap"
)

// A slice kept past Close must fault, never read or write the next file
// mapped: the child closes a, opens b, and writes through a's stale slice.
func TestStaleSliceFaults(t *testing.T) {
	if testproc.Role() == "stale" {
		staleChild(os.Getenv("STALE_DIR"))
		return
	}
	dir := t.TempDir()
	c := testproc.Start(t, "TestStaleSliceFaults", "stale", "STALE_DIR="+dir)
	c.Expect(t, "writing", 30*time.Second)
	code := c.Wait()
	ws, ok := c.Cmd.ProcessState.Sys().(syscall.WaitStatus)
	require.True(t, ok)
	require.True(t, ws.Signaled() || code == 2, "the child must die of its stale write (exit %d, status %v)", code, ws)
	if ws.Signaled() {
		require.Contains(t, []syscall.Signal{syscall.SIGSEGV, syscall.SIGBUS}, ws.Signal())
	}

	b, err := mmap.Open[int64](filepath.Join(dir, "b.col"), nil)
	require.NoError(t, err)
	defer b.Close()
	require.Equal(t, 1000, b.Len())
	for i, x := range b.Slice() {
		require.EqualValues(t, i, x, "b is unchanged by the stale write")
	}
}

func staleChild(dir string) {
	a, err := mmap.Open[int64](filepath.Join(dir, "a.col"), nil)
	must(err)
	for i := range 1000 {
		must(a.Push(int64(-i)))
	}
	stale := a.Slice()
	must(a.Close())
	b, err := mmap.Open[int64](filepath.Join(dir, "b.col"), nil)
	must(err)
	for i := range 1000 {
		must(b.Push(int64(i)))
	}
	testproc.Say("writing")
	// A Go runtime fault on a non-Go address is fatal: the runtime
	// prints "unexpected fault address" and exits with status 2.
	for i := range stale {
		stale[i] = -999
	}
	testproc.Say("survived " + strconv.Itoa(len(stale)))
	os.Exit(0)
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

// A file written where no boot id could be read keeps only its committed
// length after a crash, even where the id still cannot be read: unknown
// never matches unknown.
func TestUnknownBootTrustsCommitted(t *testing.T) {
	bootid.OverrideID(bootid.Unknown)
	defer bootid.Override("")
	path := filepath.Join(t.TempDir(), "v.col")
	v, err := mmap.Open[int64](path, nil)
	require.NoError(t, err)
	for i := range 1000 {
		require.NoError(t, v.Push(int64(i)))
	}
	require.NoError(t, v.Sync())
	for i := range 500 {
		require.NoError(t, v.Push(int64(1000+i)))
	}
	require.NoError(t, v.Close()) // no Sync: the 500 are not promised after a reboot

	v, err = mmap.Open[int64](path, nil)
	require.NoError(t, err)
	defer v.Close()
	require.Equal(t, 1000, v.Len(), "an unknown boot id must not vouch for the live length")
	require.Equal(t, mmap.SourceCommitted, v.Recovery().Source)
}

// Many Vecs open at once cost address space in proportion to their files,
// not a fixed reservation each.
func TestManyVecsOpen(t *testing.T) {
	dir := t.TempDir()
	var vs []*mmap.Vec[int64]
	defer func() {
		for _, v := range vs {
			_ = v.Close()
		}
	}()
	for i := range 500 {
		v, err := mmap.Open[int64](filepath.Join(dir, strconv.Itoa(i)+".col"), nil)
		require.NoError(t, err)
		require.NoError(t, v.Push(int64(i)))
		vs = append(vs, v)
	}
	for i, v := range vs {
		require.EqualValues(t, i, v.Get(0))
	}
	fi, err := os.Stat(filepath.Join(dir, "0.col"))
	require.NoError(t, err)
	require.LessOrEqual(t, fi.Size(), int64(8192), "a one-element file takes its header and one page")
}
