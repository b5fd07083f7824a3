package table_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence"
	"github.com/mmapvec/persistence/table"
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

// A hostile manifest's history of many one-entry changes: the replay must
// stay linear in its length (each change checked against the names it
// touched, not every live column), or reading a 16 MiB manifest takes
// minutes.
func TestReviewHistoryReplayLinear(t *testing.T) {
	dir := evTable(t, 1)
	path := filepath.Join(dir, persistence.ManifestFile)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	cols := m["columns"].([]any)
	layout := cols[0].(map[string]any)["layout"]
	const n = 60000
	hist := make([]any, 0, n)
	for i := range n {
		hist = append(hist, map[string]any{"change": i + 1, "op": "add", "id": i + 1, "name": fmt.Sprintf("c%d", i), "layout": layout})
	}
	for i, c := range cols {
		c.(map[string]any)["id"] = n - len(cols) + 1 + i
	}
	m["history"], m["next_id"] = hist, n+1
	b, err = json.Marshal(m)
	require.NoError(t, err)
	require.Less(t, len(b), persistence.MaxManifestSize)
	require.NoError(t, os.WriteFile(path, b, 0o644))
	start := time.Now()
	_, err = persistence.ReadManifest(dir)
	t.Logf("%d history entries: %v (%v)", n, time.Since(start), err)
	require.ErrorIs(t, err, persistence.ErrManifest)
}

// A reader open at data version 0 while Migrate switches the table to 1:
// its rows are then of another version than it opened with. Migrate must
// wait for readers as the other changes that rewrite what they map do, or
// the reader must learn of the switch.
func TestReviewMigrateBesideReader(t *testing.T) {
	dir := evTable(t, 4)
	r, err := table.Open[evV1](dir, &table.Options{ReadOnly: true})
	require.NoError(t, err)
	defer r.Close()
	tb, merr := table.Migrate(dir, 1, func(t *table.Table[evV1], from uint32) error {
		for i := range t.Len() {
			row := t.Row(i)
			row.A *= 1000
			if err := t.SetRow(i, row); err != nil {
				return err
			}
		}
		return nil
	}, nil)
	if merr == nil {
		defer tb.Close()
		require.Equal(t, int32(-3000), tb.Row(3).A)
	}
	rerr := r.Refresh()
	t.Logf("migrate: %v; reader's refresh: %v; reader sees A=%d", merr, rerr, r.Row(3).A)
	require.True(t, merr != nil || rerr != nil, "a reader at data version 0 kept reading rows migrated to 1")
}
