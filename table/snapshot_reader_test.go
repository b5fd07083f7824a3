package table_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence/table"
)

type snapAddV1 struct {
	ID int64
	S  string
}

type snapAddV2 struct {
	ID int64
	S  string
	T  string // added by a writer while a reader of snapAddV1 is open
	C  int32  // and a fixed-size column too
}

// TestReaderSnapshotAfterAdd: adding columns is the one schema change
// made beside readers. A reader's Snapshot, a backup, holds the columns
// a writer added since the reader opened (it once copied the reader's own
// manifest, and a writable open of the backup added them again, zero).
func TestReaderSnapshotAfterAdd(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t")
	w1, err := table.Open[snapAddV1](dir, nil)
	require.NoError(t, err)
	require.NoError(t, w1.Append(snapAddV1{ID: 1, S: "one"}))
	require.NoError(t, w1.Close())

	r, err := table.Open[snapAddV1](dir, &table.Options{ReadOnly: true})
	require.NoError(t, err)
	defer r.Close()

	w2, err := table.Open[snapAddV2](dir, nil) // adds T and C beside the reader
	require.NoError(t, err)
	defer w2.Close()
	require.NoError(t, w2.SetRow(0, snapAddV2{ID: 1, S: "one", T: "t of row 0", C: 7}))
	require.NoError(t, w2.Append(snapAddV2{ID: 2, S: "two", T: "t of row 1", C: 8}))
	require.NoError(t, w2.Sync())

	require.NoError(t, r.Refresh())
	require.Equal(t, 2, r.Len())
	dst := filepath.Join(t.TempDir(), "backup")
	require.NoError(t, r.Snapshot(dst))

	m := manifestOf(t, dst)
	var names []string
	for _, c := range m.Columns {
		names = append(names, c.Name)
	}
	require.Equal(t, []string{"ID", "S", "T", "C"}, names, "the backup holds every column of the table")

	b, err := table.Open[snapAddV2](dst, nil)
	require.NoError(t, err)
	defer b.Close()
	require.Empty(t, b.Recovered().SchemaChanges, "the backup needs no schema change")
	require.Equal(t, snapAddV2{ID: 1, S: "one", T: "t of row 0", C: 7}, b.Row(0))
	require.Equal(t, snapAddV2{ID: 2, S: "two", T: "t of row 1", C: 8}, b.Row(1))
}
