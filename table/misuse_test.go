package table_test

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence/table"
)

type misuseRow struct {
	ID int64
	S  string
}

func misuseTable(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "t")
	tb, err := table.Open[misuseRow](dir, nil)
	require.NoError(t, err)
	require.NoError(t, tb.Append(misuseRow{ID: 1, S: "one"}))
	require.NoError(t, tb.Close())
	return dir
}

// TestAlterReadOnlyTyped: DropColumn and RenameColumn given
// Options.ReadOnly fail with ErrOptions, as Migrate and Repair do (they
// once returned an error that matched no sentinel).
func TestAlterReadOnlyTyped(t *testing.T) {
	dir := misuseTable(t)
	ro := &table.Options{ReadOnly: true}
	_, err := table.DropColumn(dir, []string{"S"}, ro)
	require.Error(t, err)
	require.ErrorIs(t, err, table.ErrOptions)
	_, err = table.RenameColumn(dir, "S", "T", ro)
	require.Error(t, err)
	require.ErrorIs(t, err, table.ErrOptions)
}

// TestMigrateNilFunc: Migrate with a nil func is ErrOptions. It once
// panicked after opening the table, which no caller could then close:
// every later Open of the table in the process failed with ErrLocked.
func TestMigrateNilFunc(t *testing.T) {
	dir := misuseTable(t)
	var err error
	func() {
		defer func() {
			if r := recover(); r != nil {
				err = errors.New("panic")
				t.Errorf("Migrate with a nil func panicked: %v", r)
			}
		}()
		var m *table.Table[misuseRow]
		m, err = table.Migrate[misuseRow](dir, 2, nil, nil)
		if m != nil {
			require.NoError(t, m.Close())
		}
	}()
	require.ErrorIs(t, err, table.ErrOptions, "a nil migrate func for a table that needs migrating")
	tb, err := table.Open[misuseRow](dir, nil)
	require.NoError(t, err, "the table must not stay locked after a refused Migrate")
	require.NoError(t, tb.Close())
}

// TestMigratePanickingFunc: a panic in the migrate func reaches the
// caller, and the table Migrate opened is closed: the process opens it
// again, at its old data version.
func TestMigratePanickingFunc(t *testing.T) {
	dir := misuseTable(t)
	require.PanicsWithValue(t, "migration bug", func() {
		_, _ = table.Migrate(dir, 2, func(*table.Table[misuseRow], uint32) error { panic("migration bug") }, nil)
	})
	tb, err := table.Open[misuseRow](dir, nil)
	require.NoError(t, err, "the table must not stay locked after a migration panicked")
	require.Equal(t, 1, tb.Len())
	require.Equal(t, misuseRow{ID: 1, S: "one"}, tb.Row(0))
	require.NoError(t, tb.Close())
}
