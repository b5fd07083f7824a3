package table_test

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence/internal/bootid"
	"github.com/mmapvec/persistence/internal/crashpoint"
	"github.com/mmapvec/persistence/table"
)

// A READERS page of an earlier boot holds that boot's synced count (lowered
// by a removal there). A writer of this boot that claims the page clears
// it: if that writer's open stops after recovery made the files this boot's
// but before it published its own counts (any error, or a kill), the next
// open must not take the earlier boot's count for this boot's, which would
// hide rows COMMIT holds from SyncedOnly readers and Recovered().
func TestReaderPageOfEarlierBootKeepsNoCount(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t")
	bootid.Override("earlier-boot-1")
	defer bootid.Override("")

	w, err := table.Open[Particle](dir, nil)
	require.NoError(t, err)
	require.NoError(t, w.AppendRows(particles(seq(0, 10)...)))
	require.NoError(t, w.Sync())      // COMMIT: 10 rows
	require.NoError(t, w.Truncate(5)) // the page's synced count: 5 (boot 1)
	require.NoError(t, w.Close())

	bootid.Override("earlier-boot-2") // a restart: the table is as of the Sync, 10 rows
	journal := filepath.Join(dir, "JOURNAL")
	var once sync.Once
	crashpoint.SetHook(func(name string) {
		if name == "table.recover.column" {
			// An error after recovery adopted the files (JOURNAL could
			// not be opened); a kill -9 there does the same.
			once.Do(func() {
				_ = os.Remove(journal)
				_ = os.Mkdir(journal, 0o755)
			})
		}
	})
	_, err = table.Open[Particle](dir, nil)
	crashpoint.SetHook(nil)
	require.Error(t, err, "the open meant to fail after recovery")
	t.Logf("failed open: %v", err)
	require.NoError(t, os.Remove(journal))

	w2, err := table.Open[Particle](dir, nil)
	require.NoError(t, err)
	defer w2.Close()
	t.Logf("writer: %s", w2.Recovered())
	r, err := table.Open[Particle](dir, &table.Options{ReadOnly: true, SyncedOnly: true})
	require.NoError(t, err)
	defer r.Close()
	require.Equal(t, 10, w2.Len())
	require.Equal(t, 10, w2.Recovered().CommittedRows, "COMMIT holds the Sync of 10 rows, and no removal happened in this boot")
	require.Equal(t, 10, r.Len(), "a SyncedOnly reader: the last Sync holds 10 rows")
}
