package table_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

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
