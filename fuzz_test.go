package persistence_test

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmapvec/persistence"
	"github.com/mmapvec/persistence/mmap"
)

// FuzzManifest parses arbitrary bytes as a manifest: either ErrManifest, or
// a manifest whose every column file is a plain name inside the table
// directory, which survives a write and a read unchanged. The seed corpus
// is testdata/fuzz/FuzzManifest.
func FuzzManifest(f *testing.F) {
	l, err := mmap.LayoutFor[int64]()
	if err != nil {
		f.Fatal(err)
	}
	valid, err := json.Marshal(&persistence.Manifest{Format: persistence.ManifestFormat, Version: persistence.ManifestVersion,
		RowSize: 8, Columns: []persistence.Column{{Field: "A", Name: "a", File: "a.col", Layout: l}}, Arch: persistence.HostArch()})
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
			if err := persistence.ValidateName(c.Name); err != nil {
				t.Fatalf("accepted column name: %v", err)
			}
		}
		dir := t.TempDir()
		if err := persistence.WriteManifest(dir, m); err != nil {
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
