package persistence_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence"
	"github.com/mmapvec/persistence/internal/fsutil"
	"github.com/mmapvec/persistence/internal/layout"
	"github.com/mmapvec/persistence/internal/names"
)

func validManifest(t *testing.T) *persistence.Manifest {
	t.Helper()
	l, err := layout.For[int64]()
	require.NoError(t, err)
	return &persistence.Manifest{Format: persistence.ManifestFormat, Version: persistence.ManifestVersion, RowSize: 8,
		Columns: []persistence.ColumnSpec{{Field: "A", Name: "a", File: "a.col", Layout: l}},
		Arch:    persistence.HostArch(), Created: persistence.Stamp{CPU: persistence.HostCPU()}}
}

func TestValidateName(t *testing.T) {
	for _, ok := range []string{"a", "Pos", "x_1", "v2.z", "a-b"} {
		require.NoError(t, names.Validate(ok), ok)
	}
	for _, bad := range []string{"", ".", "..", "../../x", "a/b", ".hidden", "a..b", "x\x00", "a b", string(make([]byte, 200))} {
		require.Error(t, names.Validate(bad), "%q", bad)
	}
}

func TestManifestRoundTripAndValidation(t *testing.T) {
	dir := t.TempDir()
	m := validManifest(t)
	require.NoError(t, writeManifest(t, dir, m))
	got, err := persistence.ReadManifest(dir)
	require.NoError(t, err)
	require.Equal(t, m.Hash(), got.Hash())
	entries, _ := os.ReadDir(dir)
	require.Len(t, entries, 1, "no temporary file is left behind")

	cases := map[string]func(m *persistence.Manifest){
		"path traversal name": func(m *persistence.Manifest) { m.Columns[0].Name = "../../x"; m.Columns[0].File = "../../x.col" },
		"file not name.col":   func(m *persistence.Manifest) { m.Columns[0].File = "../etc/passwd" },
		"absolute file":       func(m *persistence.Manifest) { m.Columns[0].File = "/tmp/a.col" },
		"wrong format":        func(m *persistence.Manifest) { m.Format = "other" },
		"future version":      func(m *persistence.Manifest) { m.Version = 99 },
		"no columns":          func(m *persistence.Manifest) { m.Columns = nil },
		"column outside row":  func(m *persistence.Manifest) { m.Columns[0].Offset = 4 },
		"duplicate column": func(m *persistence.Manifest) {
			m.Columns = append(m.Columns, m.Columns[0])
			m.RowSize = 16
		},
	}
	for name, damage := range cases {
		t.Run(name, func(t *testing.T) {
			m := validManifest(t)
			damage(m)
			b, err := json.Marshal(m)
			require.NoError(t, err)
			_, err = persistence.ParseManifest("manifest.json", b)
			require.ErrorIs(t, err, persistence.ErrManifest)
		})
	}
	for name, b := range map[string]string{"empty": "", "garbage": "\x00\x01zz", "truncated": `{"format":"persistence-table","vers`, "unknown field": `{"format":"persistence-table","version":1,"evil":true}`} {
		_, err := persistence.ParseManifest("manifest.json", []byte(b))
		require.ErrorIs(t, err, persistence.ErrManifest, name)
	}
}

func TestCheckArch(t *testing.T) {
	m := validManifest(t)
	require.NoError(t, m.CheckArch())
	if m.Arch.ByteOrder == "little-endian" {
		m.Arch.ByteOrder, m.Arch.GOARCH = "big-endian", "s390x"
	} else {
		m.Arch.ByteOrder, m.Arch.GOARCH = "little-endian", "amd64"
	}
	err := m.CheckArch()
	require.ErrorIs(t, err, persistence.ErrArch)
	require.Contains(t, err.Error(), "byte order")
	m = validManifest(t)
	m.Arch.PointerSize = 4
	require.ErrorContains(t, m.CheckArch(), "pointer size")
}

func TestCompareSchemaAndCPUDiff(t *testing.T) {
	m := validManifest(t)
	require.NoError(t, m.CompareSchema(m.Columns))
	lf, _ := layout.For[float64]()
	err := m.CompareSchema([]persistence.ColumnSpec{{Field: "A", Name: "a", File: "a.col", Layout: lf}, {Field: "B", Name: "b", File: "b.col", Layout: lf}})
	require.ErrorIs(t, err, persistence.ErrSchema)
	require.Contains(t, err.Error(), `retyped column "a"`)
	require.Contains(t, err.Error(), `added column "b"`)

	m.Created.CPU.Features = append(m.Created.CPU.Features, "IMAGINARY_FEATURE")
	missing, _ := m.CPUDiff()
	require.Contains(t, missing, "IMAGINARY_FEATURE")
}

func TestWriteManifestReplacesAtomically(t *testing.T) {
	dir := t.TempDir()
	m := validManifest(t)
	require.NoError(t, writeManifest(t, dir, m))
	m.DataVersion = 3
	require.NoError(t, writeManifest(t, dir, m))
	got, err := persistence.ReadManifest(dir)
	require.NoError(t, err)
	require.EqualValues(t, 3, got.DataVersion)
	matches, _ := filepath.Glob(filepath.Join(dir, ".*tmp*"))
	require.Empty(t, matches)
}

// TestManifestLastWriterCPU: the manifest keeps the CPU of the last
// writable open, under a name that says so, and reads the stamp that
// earlier versions wrote (last_writable_open) into it.
func TestManifestLastWriterCPU(t *testing.T) {
	dir := t.TempDir()
	m := validManifest(t)
	m.LastWriterCPU = persistence.CPU{Vendor: "Acme", Brand: "Acme 1", Family: 6, Features: []string{"SSE2"}}
	require.NoError(t, writeManifest(t, dir, m))
	raw, err := os.ReadFile(filepath.Join(dir, persistence.ManifestFile))
	require.NoError(t, err)
	require.Contains(t, string(raw), `"last_writer_cpu"`)
	require.NotContains(t, string(raw), "last_writable_open", "no stamp whose time would not be kept true")
	got, err := persistence.ReadManifest(dir)
	require.NoError(t, err)
	require.Equal(t, m.LastWriterCPU, got.LastWriterCPU)

	// A manifest written before the rename.
	var generic map[string]any
	require.NoError(t, json.Unmarshal(raw, &generic))
	generic["last_writable_open"] = map[string]any{"time": "2024-01-02T03:04:05Z", "cpu": generic["last_writer_cpu"]}
	delete(generic, "last_writer_cpu")
	old, err := json.Marshal(generic)
	require.NoError(t, err)
	got, err = persistence.ParseManifest("manifest.json", old)
	require.NoError(t, err, "a manifest of the previous version opens")
	require.Equal(t, m.LastWriterCPU, got.LastWriterCPU)
	require.Equal(t, m.Hash(), got.Hash(), "the stamps are not part of the hash")
	require.NoError(t, writeManifest(t, dir, got))
	raw, err = os.ReadFile(filepath.Join(dir, persistence.ManifestFile))
	require.NoError(t, err)
	require.NotContains(t, string(raw), "last_writable_open", "written back under the new name")
	require.Contains(t, string(raw), `"Acme 1"`)
}

// TestManifestHostileNumbers: numbers that would overflow a sum, index
// outside an element, or make a walk over a layout unbounded are refused
// by ParseManifest, before any byte swap or comparison uses them.
func TestManifestHostileNumbers(t *testing.T) {
	const maxInt = int(^uint(0) >> 1)
	cases := map[string]func(m *persistence.Manifest){
		"offset overflows the row": func(m *persistence.Manifest) { m.Columns[0].Offset = maxInt - 4 },
		"negative offset":          func(m *persistence.Manifest) { m.Columns[0].Offset = -8; m.RowSize = 16 },
		"row size huge":            func(m *persistence.Manifest) { m.RowSize = maxInt },
		"row size zero":            func(m *persistence.Manifest) { m.RowSize = 0 },
		"element size negative":    func(m *persistence.Manifest) { m.Columns[0].Layout.Size = -8 },
		"alignment not a power of 2": func(m *persistence.Manifest) {
			m.Columns[0].Layout.Align = 3
		},
		"leaf past the element": func(m *persistence.Manifest) { m.Columns[0].Layout.Leaves[0].Offset = 4 },
		"leaf offset overflows": func(m *persistence.Manifest) { m.Columns[0].Layout.Leaves[0].Offset = maxInt },
		"leaf of the wrong size": func(m *persistence.Manifest) {
			m.Columns[0].Layout.Leaves[0].Size = 3
		},
		"unknown kind": func(m *persistence.Manifest) { m.Columns[0].Layout.Leaves[0].Kind = "pointer" },
		"array of 2^62 items": func(m *persistence.Manifest) {
			m.Columns[0].Layout.Leaves[0].Kind, m.Columns[0].Layout.Leaves[0].Size = "uint8", 1
			m.Columns[0].Layout.Leaves[0].Dims = []persistence.Dim{{Count: 1 << 62, Stride: 1}}
		},
		"nested arrays that overlap": func(m *persistence.Manifest) {
			// 8 x 8 one-byte items in 8 bytes: a walk of 64 steps per
			// element, and so on without bound for deeper nesting.
			m.Columns[0].Layout.Leaves[0].Kind, m.Columns[0].Layout.Leaves[0].Size = "uint8", 1
			m.Columns[0].Layout.Leaves[0].Dims = []persistence.Dim{{Count: 8, Stride: 1}, {Count: 8, Stride: 1}}
		},
		"negative stride": func(m *persistence.Manifest) {
			m.Columns[0].Layout.Leaves[0].Kind, m.Columns[0].Layout.Leaves[0].Size = "uint8", 1
			m.Columns[0].Layout.Leaves[0].Dims = []persistence.Dim{{Count: 8, Stride: -1}}
		},
		"leaves hold more than the element": func(m *persistence.Manifest) {
			m.Columns[0].Layout.Leaves = append(m.Columns[0].Layout.Leaves, m.Columns[0].Layout.Leaves[0])
		},
		"columns hold more than the row": func(m *persistence.Manifest) {
			c := m.Columns[0]
			c.Name, c.File, c.Field = "b", "b.col", "B"
			m.Columns = append(m.Columns, c) // both at offset 0 of an 8-byte row
		},
	}
	for name, damage := range cases {
		t.Run(name, func(t *testing.T) {
			m := validManifest(t)
			damage(m)
			b, err := json.Marshal(m)
			require.NoError(t, err)
			_, err = persistence.ParseManifest("manifest.json", b)
			require.ErrorIs(t, err, persistence.ErrManifest)
			t.Log(err)
		})
	}

	// Real layouts of nested arrays and structs pass.
	type inner struct {
		A int32
		B int8
	}
	type elem struct {
		X [2][3]uint16
		Y [3]inner
		Z complex128
	}
	l, err := layout.For[elem]()
	require.NoError(t, err)
	m := validManifest(t)
	m.RowSize, m.Columns[0].Layout = l.Size, l
	b, err := json.Marshal(m)
	require.NoError(t, err)
	_, err = persistence.ParseManifest("manifest.json", b)
	require.NoError(t, err)
}

// TestReadManifestFileKinds: ReadManifest refuses a manifest.json that is
// not a regular file, or larger than MaxManifestSize, without reading it.
func TestReadManifestFileKinds(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, persistence.ManifestFile)
	require.NoError(t, os.Symlink("/dev/zero", path))
	_, err := persistence.ReadManifest(dir)
	require.ErrorIs(t, err, persistence.ErrManifest)
	require.ErrorContains(t, err, "symlink")

	require.NoError(t, os.Remove(path))
	require.NoError(t, os.WriteFile(path, nil, 0o644))
	require.NoError(t, os.Truncate(path, persistence.MaxManifestSize+1))
	_, err = persistence.ReadManifest(dir)
	require.ErrorIs(t, err, persistence.ErrManifest)
	require.ErrorContains(t, err, "bytes")

	require.NoError(t, os.Remove(path))
	_, err = persistence.ReadManifest(dir)
	require.ErrorIs(t, err, os.ErrNotExist, "a missing manifest stays the OS error")
}

func writeManifest(t *testing.T, dir string, m *persistence.Manifest) error {
	t.Helper()
	b, err := m.Marshal()
	if err != nil {
		return err
	}
	return fsutil.ReplaceFile(dir, persistence.ManifestFile, b)
}
