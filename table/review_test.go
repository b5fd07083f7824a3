package table_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// A rename builds its prepared file as a hard link of the old one; a file
// already under the prepared name (a rollback that could not remove it, or
// anything else) must not stand in for the column's rows.
func TestReviewRenameIgnoresStalePrepared(t *testing.T) {
	dir := evTable(t, 10)
	old, err := os.ReadFile(filepath.Join(dir, "A.col"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "AA.col.schema"), old, 0o644))

	tb := mustOpen[evV1](t, dir, nil)
	for i := range 10 {
		r := evRow(i)
		r.A = int32(100 + i)
		require.NoError(t, tb.SetRow(i, r))
	}
	require.NoError(t, tb.Close())

	type v2 struct {
		AA int32 `persist:"AA,was=A"`
		B  float32
		C  [2]uint16
	}
	tb2 := mustOpen[v2](t, dir, nil)
	for i := range 10 {
		require.Equal(t, int32(100+i), tb2.Row(i).AA, "row %d", i)
	}
	require.NoError(t, tb2.Close())
}

// A destination inside the table's directory whose name starts with ".."
// is still inside it.
func TestReviewSnapshotDotDotNameInside(t *testing.T) {
	dir := evTable(t, 3)
	tb := mustOpen[evV1](t, dir, nil)
	defer tb.Close()
	require.Error(t, tb.Snapshot(filepath.Join(dir, "..snap")))
	_, err := os.Lstat(filepath.Join(dir, "..snap"))
	require.ErrorIs(t, err, os.ErrNotExist)
}
