package table_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence/table"
)

// The READERS file made with a new table (a page of zeros, no writer yet)
// is a healthy table's, to Check as to Open.
func TestCheckAcceptsNewReadersFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t")
	snap := filepath.Join(t.TempDir(), "snap")
	w, err := table.Open[Particle](dir, nil)
	require.NoError(t, err)
	require.NoError(t, w.AppendRows(particles(seq(0, 10)...)))
	require.NoError(t, w.Snapshot(snap))
	require.NoError(t, w.Close())
	rep, err := table.Check(snap)
	require.NoError(t, err)
	t.Logf("%v", rep)
	// a table without READERS (legacy) still opens for readers and writers
	require.NoError(t, os.Remove(filepath.Join(snap, "READERS")))
	r, err := table.Open[Particle](snap, &table.Options{ReadOnly: true})
	require.NoError(t, err)
	require.Equal(t, 10, r.Len())
	require.NoError(t, r.Close())
	rep, err = table.Check(snap)
	require.NoError(t, err)
	t.Logf("%v", rep)
	w2, err := table.Open[Particle](snap, nil)
	require.NoError(t, err)
	require.NoError(t, w2.Close())
}
