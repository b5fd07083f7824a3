package table_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence/table"
)

// A snapshot of a writer, and of a reader beside it, opens as an ordinary
// table with the rows each showed, and only those: no spare capacity.
func TestSnapshot(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "t")
	w := mustOpen[Particle](t, dir, nil)
	for i := range 5000 {
		require.NoError(t, w.Append(p(i)))
	}
	require.NoError(t, w.SetRow(7, p(77)))

	snapW := filepath.Join(root, "from-writer")
	require.NoError(t, w.Snapshot(snapW))

	r := mustOpen[Particle](t, dir, &table.Options{ReadOnly: true})
	require.NoError(t, w.AppendRows(particles(seq(5000, 6000)...)))
	snapR := filepath.Join(root, "from-reader")
	require.NoError(t, r.Snapshot(snapR), "a reader snapshots the latest published rows")
	require.NoError(t, w.Append(p(6000)))

	for _, c := range []struct {
		dir  string
		rows int
	}{{snapW, 5000}, {snapR, 6000}} {
		s := mustOpen[Particle](t, c.dir, nil)
		require.Equal(t, c.rows, s.Len(), c.dir)
		require.Equal(t, p(77), s.Row(7))
		require.Equal(t, p(c.rows-1), s.Row(c.rows-1))
		require.Equal(t, c.rows, s.Recovered().CommittedRows, "the copy is committed")
		for _, col := range table.Columns(s) {
			require.Equal(t, c.rows, col.Cap, "column %s: only the live rows are copied", col.Name)
		}
		require.NoError(t, s.Append(p(c.rows)), "the copy takes appends")
		entries, err := os.ReadDir(root)
		require.NoError(t, err)
		for _, e := range entries {
			require.NotContains(t, e.Name(), ".snapshot-", "no build directory is left")
		}
	}
	// The source is unchanged by it.
	require.Equal(t, 6001, w.Len())
	require.Equal(t, p(77), w.Row(7))
}

func TestSnapshotRefusals(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "t")
	w := mustOpen[Particle](t, dir, nil)
	require.NoError(t, w.Append(p(1)))

	exists := filepath.Join(root, "exists")
	require.NoError(t, os.Mkdir(exists, 0o755))
	require.ErrorIs(t, w.Snapshot(exists), os.ErrExist)
	require.ErrorContains(t, w.Snapshot(dir), "inside the table's directory")
	require.ErrorContains(t, w.Snapshot(filepath.Join(dir, "x")), "inside the table's directory")
	require.Error(t, w.Snapshot(""))

	// A build left by a killed Snapshot is removed by the next one.
	dst := filepath.Join(root, "snap")
	left := filepath.Join(root, ".snap.snapshot-123")
	require.NoError(t, os.Mkdir(left, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(left, "LOCK"), nil, 0o644))
	require.NoError(t, w.Snapshot(dst))
	_, err := os.Stat(left)
	require.ErrorIs(t, err, os.ErrNotExist)

	require.NoError(t, w.Close())
	require.ErrorIs(t, w.Snapshot(filepath.Join(root, "closed")), table.ErrClosed)
}

// A reader of some columns snapshots every column.
func TestSnapshotFromNarrowReader(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "t")
	w := mustOpen[Particle](t, dir, nil)
	require.NoError(t, w.AppendRows(particles(seq(0, 100)...)))
	type massOnly struct {
		Mass float64
	}
	r := mustOpen[massOnly](t, dir, &table.Options{ReadOnly: true})
	require.NoError(t, r.Snapshot(filepath.Join(root, "s")))
	s := mustOpen[Particle](t, filepath.Join(root, "s"), nil)
	require.Equal(t, particles(seq(0, 100)...), rowsOf(t, s))
}
