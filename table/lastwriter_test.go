package table_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence"
	"github.com/mmapvec/persistence/table"
)

// TestLastWriterCPU: a writable open records its CPU in the manifest only
// when it differs from the last writer's (an open costs no manifest
// rewrite otherwise), and reads manifests that still hold the earlier
// last_writable_open stamp.
func TestLastWriterCPU(t *testing.T) {
	dir := newClosedTable(t)
	path := filepath.Join(dir, persistence.ManifestFile)
	inode := func() uint64 {
		fi, err := os.Stat(path)
		require.NoError(t, err)
		return fi.Sys().(*syscall.Stat_t).Ino
	}

	before := inode()
	tb := mustOpen[Particle](t, dir, nil)
	require.Equal(t, persistence.HostCPU().Brand, tb.Manifest().LastWriterCPU.Brand)
	require.NoError(t, tb.Close())
	require.Equal(t, before, inode(), "the same CPU: the manifest is not rewritten")

	// As written by the previous version, on another CPU.
	editManifest(t, dir, func(m map[string]any) {
		cpu := m["last_writer_cpu"].(map[string]any)
		cpu["brand"], cpu["features"] = "Another CPU", []any{"IMAGINARY_FEATURE"}
		m["last_writable_open"] = map[string]any{"time": "2020-01-01T00:00:00Z", "cpu": cpu}
		delete(m, "last_writer_cpu")
	})
	ro, err := table.Open[Particle](dir, &table.Options{ReadOnly: true})
	require.NoError(t, err)
	require.Equal(t, "Another CPU", ro.Manifest().LastWriterCPU.Brand, "the old stamp's CPU is read")
	require.NoError(t, ro.Close())

	tb = mustOpen[Particle](t, dir, nil)
	require.NoError(t, tb.Close())
	disk, err := persistence.ReadManifest(dir)
	require.NoError(t, err)
	require.Equal(t, persistence.HostCPU().Features, disk.LastWriterCPU.Features, "a writable open on another CPU records its own")
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NotContains(t, string(raw), "last_writable_open")
}
