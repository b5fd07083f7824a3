package table_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence/internal/bootid"
	"github.com/mmapvec/persistence/internal/testproc"
	"github.com/mmapvec/persistence/table"
)

// TestRepairCommitsKilledAppends: a writer killed after appending without
// a Sync leaves rows only the page cache holds; repair commits them, so
// that an open after a reboot (another boot id) finds every one. A partial
// element past the rows (a growth that stopped part way) is trimmed.
func TestRepairCommitsKilledAppends(t *testing.T) {
	if testproc.Role() == "crash" {
		crashChild(t)
	}
	dir := t.TempDir()
	c := testproc.Start(t, t.Name(), "crash", "PERSIST_TEST_DIR="+dir)
	require.Equal(t, "done 50", c.Expect(t, "done", 30*time.Second))
	c.Kill()
	mass := filepath.Join(dir, "Mass.col")
	before, err := os.Stat(mass)
	require.NoError(t, err)
	f, err := os.OpenFile(mass, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = f.Write([]byte{1, 2, 3, 4, 5})
	require.NoError(t, err)
	require.NoError(t, f.Close())

	rebootRows := func() int {
		t.Helper()
		bootid.Override("a boot after a power cut")
		defer bootid.Override("")
		tb, err := table.Open[Particle](dir, &table.Options{ReadOnly: true})
		require.NoError(t, err)
		defer tb.Close()
		for i := range tb.Len() {
			require.Equal(t, p(i), tb.Row(i))
		}
		return tb.Len()
	}
	require.Equal(t, 0, rebootRows(), "nothing was synced")

	rep, err := table.Repair(dir, nil)
	require.NoError(t, err)
	t.Logf("%s", rep)
	require.Equal(t, 50, rep.Rows)
	require.Equal(t, "live", fmt.Sprint(rep.Recovery.Source))
	require.Equal(t, map[string]int{"Mass.col": 5}, rep.Trimmed)
	after, err := os.Stat(mass)
	require.NoError(t, err)
	require.Equal(t, before.Size(), after.Size(), "the partial element is cut, nothing more")

	require.Equal(t, 50, rebootRows(), "repair committed every row")
	check, err := table.Check(dir)
	require.NoError(t, err)
	require.True(t, check.OK(), "%v", check.Err())
	require.Empty(t, check.Notes)
	require.Equal(t, 50, check.CommittedRows)
}

func TestRepairRefusals(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	_, err := table.Repair(missing, nil)
	require.ErrorIs(t, err, table.ErrNotTable)
	_, err = os.Stat(missing)
	require.ErrorIs(t, err, os.ErrNotExist, "repair never creates a table")

	dir := checkedTable(t, 1)
	_, err = table.Repair(dir, &table.Options{ReadOnly: true})
	require.Error(t, err)
	mustOpen[Particle](t, dir, nil)
	_, err = table.Repair(dir, nil)
	require.ErrorIs(t, err, table.ErrLocked, "a writer holds the table")
}
