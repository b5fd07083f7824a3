package table_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence/table"
)

// A SavePoint reader with no writer running, after a removal below the
// last Sync's rows and appends that were never synced, in the same boot:
// it shows no row appended after the Sync (it cannot put back the rows the
// removal replaced, so it shows the rows left by the removal).
func TestSavePointReaderAfterRemoval(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t")
	w, err := table.Open[Particle](dir, nil)
	require.NoError(t, err)
	require.NoError(t, w.AppendRows(particles(seq(0, 10)...)))
	require.NoError(t, w.Sync())
	require.NoError(t, w.Truncate(5))
	require.NoError(t, w.AppendRows(particles(100, 101, 102, 103, 104, 105)))
	require.NoError(t, w.Close())
	r, err := table.Open[Particle](dir, &table.Options{ReadOnly: true, SavePoint: true})
	require.NoError(t, err)
	defer r.Close()
	for i := range r.Len() {
		if r.Row(i).ID >= 100 {
			t.Errorf("SavePoint reader, no writer: %d rows, row %d id %d appended after the last Sync", r.Len(), i, r.Row(i).ID)
			break
		}
	}
}
