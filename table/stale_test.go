package table_test

import (
	"bytes"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence/internal/testproc"
	"github.com/mmapvec/persistence/table"
)

type staleRow struct {
	ID  int64
	Val float64
}

// A column slice kept past the table's Close faults; it never reaches the
// table opened next, whose files the kernel could otherwise have mapped at
// the same addresses.
func TestStaleColumnSliceFaults(t *testing.T) {
	if testproc.Role() == "stale" {
		staleTableChild(t, os.Getenv("STALE_DIR"))
		return
	}
	dir := t.TempDir()
	c := testproc.Start(t, t.Name(), "stale", "STALE_DIR="+dir)
	c.Expect(t, "writing", 30*time.Second)
	code := c.Wait()
	ws, ok := c.Cmd.ProcessState.Sys().(syscall.WaitStatus)
	require.True(t, ok)
	require.True(t, ws.Signaled() || code == 2, "the child must die of its stale write (exit %d)", code)
	require.NotContains(t, c.Lines(), "survived", "the stale write went somewhere")

	b := mustOpen[staleRow](t, filepath.Join(dir, "b"), &table.Options{ReadOnly: true})
	require.Equal(t, 1000, b.Len())
	for i := range b.Len() {
		require.Equal(t, staleRow{ID: int64(i), Val: float64(i)}, b.Row(i), "b is unchanged by the stale write")
	}
}

func staleTableChild(t *testing.T, dir string) {
	a, err := table.Open[staleRow](filepath.Join(dir, "a"), nil)
	require.NoError(t, err)
	for i := range 1000 {
		require.NoError(t, a.Append(staleRow{ID: -int64(i)}))
	}
	ids, err := table.Col(a, func(r *staleRow) *int64 { return &r.ID })
	require.NoError(t, err)
	stale := ids.Slice()
	require.NoError(t, a.Close())

	b, err := table.Open[staleRow](filepath.Join(dir, "b"), nil)
	require.NoError(t, err)
	for i := range 1000 {
		require.NoError(t, b.Append(staleRow{ID: int64(i), Val: float64(i)}))
	}
	require.NoError(t, b.Sync())
	testproc.Say("writing")
	for i := range stale {
		stale[i] = -999
	}
	testproc.Say("survived")
	os.Exit(0)
}

// staleWide has 16 columns: each Close fences 16 mappings or more.
type staleWide struct {
	V                                                                uint64
	F1, F2, F3, F4, F5, F6, F7, F8, F9, F10, F11, F12, F13, F14, F15 uint64
}

// A slice kept past Close does not reach a table opened after many others
// were opened and closed: the fenced ranges of closed mappings are kept
// merged where they touch, so hundreds of closes of a 16-column table fit
// the quarantine's limit of ranges (once, 256 such closes passed it, the
// oldest range was unmapped, and the kernel gave it to a later column),
// and the process's map count stays bounded.
func TestStaleSliceAfterManyCloses(t *testing.T) {
	cycles := 1000
	if raceEnabled || os.Getenv("PERSIST_TEST_EXEC") != "" {
		cycles = 300 // a race build's or an emulated open is slow; still past 256
	}
	root := t.TempDir()
	opts := &table.Options{LogSize: table.MinLogSize, NoPretouch: true}
	a := mustOpen[struct{ V uint64 }](t, filepath.Join(root, "a"), opts)
	require.NoError(t, a.Append(struct{ V uint64 }{1}))
	ca, err := table.Column[uint64](a, "V")
	require.NoError(t, err)
	stale := uintptr(unsafe.Pointer(&ca.Slice()[0]))
	require.NoError(t, a.Close())

	maps := func() int {
		b, err := os.ReadFile("/proc/self/maps")
		if err != nil {
			return -1 // not Linux: the count is not checked
		}
		return bytes.Count(b, []byte("\n"))
	}
	before := maps()
	names := []string{"V", "F1", "F2", "F3", "F4", "F5", "F6", "F7", "F8", "F9", "F10", "F11", "F12", "F13", "F14", "F15"}
	for i := range cycles {
		b := mustOpen[staleWide](t, filepath.Join(root, "b"), opts)
		if i == 0 {
			require.NoError(t, b.Append(staleWide{V: 2}))
		}
		for _, name := range names {
			cb, err := table.Column[uint64](b, name)
			require.NoError(t, err)
			lo := uintptr(unsafe.Pointer(&cb.Slice()[0]))
			require.False(t, stale >= lo && stale < lo+4096,
				"open %d: column %s is mapped where a closed table's slice points", i, name)
		}
		require.NoError(t, b.Close())
	}
	if before >= 0 {
		after := maps()
		t.Logf("%d closes: the map count went from %d to %d", cycles, before, after)
		require.Less(t, after-before, 4096, "mappings the quarantine keeps")
	}
}
