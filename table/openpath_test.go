package table_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence/lockfile"
	"github.com/mmapvec/persistence/table"
)

// Open creates the missing parents of a new table, as its doc promises.
func TestOpenCreatesParents(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "a", "b", "c", "t")
	tb, err := table.Open[Particle](dir, nil)
	require.NoError(t, err)
	require.True(t, tb.Recovered().Created)
	require.NoError(t, tb.Append(p(1)))
	require.NoError(t, tb.Close())
	for _, d := range []string{"a", "a/b", "a/b/c"} {
		fi, err := os.Stat(filepath.Join(root, d))
		require.NoError(t, err)
		require.True(t, fi.IsDir())
		require.Equal(t, fs.FileMode(0o700), fi.Mode().Perm()&0o700, "%s: the owner may use it", d)
	}
	tb = mustOpen[Particle](t, dir, nil)
	require.Equal(t, 1, tb.Len())
	require.Equal(t, p(1), tb.Row(0))

	// A parent that is a file is an error, not a directory made around it.
	file := filepath.Join(root, "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	_, err = table.Open[Particle](filepath.Join(file, "t"), nil)
	require.Error(t, err)
	require.Contains(t, err.Error(), file)
}

func TestOpenEmptyName(t *testing.T) {
	for _, o := range []*table.Options{nil, {ReadOnly: true}} {
		_, err := table.Open[Particle]("", o)
		require.ErrorIs(t, err, table.ErrNotTable)
		require.Equal(t, "table: not a table directory: the directory name is empty", err.Error())
		_, err = table.Open[table.Any]("", o)
		require.ErrorIs(t, err, table.ErrNotTable)
	}
}

// A missing table opened read-only (or as Any) is ErrNotTable, which still
// matches fs.ErrNotExist; nothing is created, not even a parent.
func TestOpenMissingReadOnly(t *testing.T) {
	root := t.TempDir()
	for _, dir := range []string{filepath.Join(root, "t"), filepath.Join(root, "no", "such", "t")} {
		_, err := table.Open[Particle](dir, &table.Options{ReadOnly: true})
		require.ErrorIs(t, err, table.ErrNotTable)
		require.ErrorIs(t, err, fs.ErrNotExist)
		require.Contains(t, err.Error(), dir)
		_, err = table.Open[table.Any](dir, nil)
		require.ErrorIs(t, err, table.ErrNotTable)
		require.ErrorIs(t, err, fs.ErrNotExist)
	}
	entries, err := os.ReadDir(root)
	require.NoError(t, err)
	require.Empty(t, entries, "a failed read-only open creates nothing")
}

// A writer refused by another handle of this same process says so, and
// does not advise what cannot help (another process, a timeout). Readers
// open beside the writer, in this process as in others.
func TestOpenLockedBySameProcess(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t")
	w, err := table.Open[Particle](dir, nil)
	require.NoError(t, err)

	r, err := table.Open[Particle](dir, &table.Options{ReadOnly: true})
	require.NoError(t, err, "a reader opens beside this process's writer")

	_, err = table.Open[Particle](dir, nil)
	require.ErrorIs(t, err, table.ErrLocked)
	var le *lockfile.LockedError
	require.True(t, errors.As(err, &le), "%T", err)
	require.True(t, le.SameProcess)
	require.Equal(t, os.Getpid(), le.PID)
	require.Equal(t, "table: "+dir+": another handle in this process (pid "+strconv.Itoa(os.Getpid())+
		") has the table open; close it first, or use it if it is writable", err.Error())
	require.NoError(t, w.Close())

	w = mustOpen[Particle](t, dir, nil)
	require.NoError(t, w.Close(), "a reader does not keep a writer out")
	require.NoError(t, r.Close())
}
