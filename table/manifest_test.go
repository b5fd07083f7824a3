package table_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence"
	"github.com/mmapvec/persistence/internal/testproc"
	"github.com/mmapvec/persistence/table"
)

// editManifest rewrites dir's manifest.json through edit.
func editManifest(t *testing.T, dir string, edit func(m map[string]any)) {
	t.Helper()
	path := filepath.Join(dir, persistence.ManifestFile)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	edit(m)
	b, err = json.Marshal(m)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, b, 0o644))
}

func newClosedTable(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	tb, err := table.Open[Particle](dir, nil)
	require.NoError(t, err)
	require.NoError(t, tb.Append(p(1)))
	require.NoError(t, tb.Sync())
	require.NoError(t, tb.Close())
	return dir
}

func TestForeignByteOrderRefused(t *testing.T) {
	dir := newClosedTable(t)
	editManifest(t, dir, func(m map[string]any) {
		arch := m["arch"].(map[string]any)
		if arch["byte_order"] == "little-endian" {
			arch["byte_order"], arch["goarch"] = "big-endian", "s390x"
		} else {
			arch["byte_order"], arch["goarch"] = "little-endian", "amd64"
		}
	})
	before := snapshot(t, dir)
	_, err := table.Open[Particle](dir, nil)
	require.ErrorIs(t, err, table.ErrArch)
	require.Contains(t, err.Error(), "byte order")
	require.Equal(t, before, snapshot(t, dir), "a refused open writes nothing")
}

func TestCPUFeaturesOnlyReported(t *testing.T) {
	dir := newClosedTable(t)
	editManifest(t, dir, func(m map[string]any) {
		cpu := m["created"].(map[string]any)["cpu"].(map[string]any)
		cpu["features"] = append(cpu["features"].([]any), "IMAGINARY_FEATURE")
	})
	tb := mustOpen[Particle](t, dir, nil)
	require.Contains(t, tb.Recovered().CPUMissing, "IMAGINARY_FEATURE")
	require.Equal(t, 1, tb.Len())
}

func TestManifestNamesValidated(t *testing.T) {
	dir := newClosedTable(t)
	editManifest(t, dir, func(m map[string]any) {
		col := m["columns"].([]any)[0].(map[string]any)
		col["name"], col["file"] = "../../escape", "../../escape.col"
	})
	_, err := table.Open[Particle](dir, nil)
	require.ErrorIs(t, err, persistence.ErrManifest)
	_, statErr := os.Stat(filepath.Join(filepath.Dir(filepath.Dir(dir)), "escape.col"))
	require.True(t, os.IsNotExist(statErr), "nothing is created outside the directory")
}

func TestLockWaitAcrossProcesses(t *testing.T) {
	if testproc.Role() == "hold-table" {
		tb, err := table.Open[Particle](os.Getenv("PERSIST_TEST_DIR"), nil)
		if err != nil {
			testproc.Say("error %v", err)
			os.Exit(1)
		}
		testproc.Say("holding")
		time.Sleep(300 * time.Millisecond)
		_ = tb.Close()
		testproc.Say("released")
		testproc.Hang()
	}
	dir := newClosedTable(t)
	c := testproc.Start(t, t.Name(), "hold-table", "PERSIST_TEST_DIR="+dir)
	c.Expect(t, "holding", 30*time.Second)
	_, err := table.Open[Particle](dir, nil)
	require.ErrorIs(t, err, table.ErrLocked, "a writer is refused at once while another process writes")
	r, err := table.Open[Particle](dir, &table.Options{ReadOnly: true})
	require.NoError(t, err, "a reader opens beside the writer")
	require.Equal(t, 1, r.Len())
	require.Equal(t, table.SourcePublished, r.Recovered().Source)
	tb, err := table.Open[Particle](dir, &table.Options{LockTimeout: 20 * time.Second})
	require.NoError(t, err, "a writer with a timeout waits for the writer to close, not for the reader")
	require.Equal(t, 1, tb.Len())
	require.NoError(t, tb.Close())
	require.NoError(t, r.Close())
}
