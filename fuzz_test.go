package persistence_test

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmapvec/persistence"
	"github.com/mmapvec/persistence/internal/colfile"
	"github.com/mmapvec/persistence/internal/layout"
	"github.com/mmapvec/persistence/internal/names"
)

// FuzzManifest parses arbitrary bytes as a manifest: either ErrManifest, or
// a manifest whose every column file is a plain name inside the table
// directory, whose every layout can be walked (a byte swap of two elements
// stays inside them), and which survives a write and a read unchanged. The
// manifest has no checksum of its own; table's FuzzTableManifest re-seals
// the COMMIT's manifest hash so that fuzzed manifests reach an open. The
// seed corpus is testdata/fuzz/FuzzManifest.
func FuzzManifest(f *testing.F) {
	l, err := layout.For[int64]()
	if err != nil {
		f.Fatal(err)
	}
	valid, err := json.Marshal(&persistence.Manifest{Format: persistence.ManifestFormat, Version: persistence.ManifestVersion,
		RowSize: 8, Columns: []persistence.ColumnSpec{{Field: "A", Name: "a", File: "a.col", Layout: l}}, Arch: persistence.HostArch()})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"format":"persistence-table","version":1,"columns":[{"name":"../x","file":"../x.col"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := persistence.ParseManifest("manifest.json", b)
		if err != nil {
			if !errors.Is(err, persistence.ErrManifest) {
				t.Fatalf("error does not match ErrManifest: %v", err)
			}
			return
		}
		for _, c := range m.Columns {
			if c.File != filepath.Base(c.File) || strings.Contains(c.File, "..") || filepath.IsAbs(c.File) || c.File == "" {
				t.Fatalf("column %q: file %q is not a plain name inside the directory", c.Name, c.File)
			}
			if err := names.Validate(c.Name); err != nil {
				t.Fatalf("accepted column name: %v", err)
			}
			if c.Layout.Size <= 0 || c.Layout.Size > persistence.MaxRowSize || c.Offset < 0 || c.Offset+c.Layout.Size > m.RowSize {
				t.Fatalf("column %q: accepted offset %d size %d in a %d-byte row", c.Name, c.Offset, c.Layout.Size, m.RowSize)
			}
			if c.Layout.Size <= 1<<16 {
				colfile.SwapBytes(make([]byte, 2*c.Layout.Size), c.Layout) // panics if a leaf lies outside
			}
		}
		dir := t.TempDir()
		if err := writeManifest(t, dir, m); err != nil {
			t.Fatalf("write: %v", err)
		}
		back, err := persistence.ReadManifest(dir)
		if err != nil {
			t.Fatalf("a valid manifest does not read back: %v", err)
		}
		if back.Hash() != m.Hash() {
			t.Fatalf("hash changed over a write and read: %x, %x", m.Hash(), back.Hash())
		}
	})
}
