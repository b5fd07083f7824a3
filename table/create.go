package table

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mmapvec/persistence"
	"github.com/mmapvec/persistence/internal/crashpoint"
	"github.com/mmapvec/persistence/mmap"
)

const (
	lockFile   = "LOCK"
	headerPage = 4096 // a column file's header: all a new column file holds
)

// columnTag is the user tag of every table column file.
var columnTag = [8]byte{'t', 'a', 'b', 'l', 'e', 'c', 'o', 'l'}

func newManifest(cols []persistence.Column, rowSize int, o Options) *persistence.Manifest {
	now := persistence.Stamp{Time: nowUTC(), CPU: persistence.HostCPU()}
	return &persistence.Manifest{Format: persistence.ManifestFormat, Version: persistence.ManifestVersion,
		DataVersion: o.DataVersion, RowSize: rowSize, Columns: cols, Arch: persistence.HostArch(),
		Created: now, LastWriterCPU: now.CPU}
}

// populate writes a new table's files into dir: columns, COMMIT, then the
// manifest last, whose presence means the table exists.
func populate(dir string, m *persistence.Manifest, o Options) error {
	for _, c := range m.Columns {
		r, err := mmap.OpenRaw(filepath.Join(dir, c.File), c.Layout,
			&mmap.Options{Tag: columnTag, DataVersion: o.DataVersion, NoLock: true, ExternalCommit: true})
		if err != nil {
			return err
		}
		if err := r.Close(); err != nil {
			return err
		}
	}
	crashpoint.Hit("table.create.columns")
	if err := writeSynced(filepath.Join(dir, commitFile), newCommitFile(len(m.Columns), m.Hash())); err != nil {
		return err
	}
	crashpoint.Hit("table.create.commit")
	return persistence.WriteManifest(dir, m)
}

func writeSynced(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	return errors.Join(err, f.Close())
}

// createNew builds a table in a temporary sibling directory and renames it
// into place, so that dir appears complete or not at all. Losing a race to
// another creator is not an error: the caller opens what won.
func createNew(dir string, m *persistence.Manifest, o Options) error {
	parent, base := filepath.Split(filepath.Clean(dir))
	if parent == "" {
		parent = "."
	}
	tmp, err := os.MkdirTemp(parent, "."+base+".creating-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := os.Chmod(tmp, 0o755); err != nil { // MkdirTemp makes 0700
		return err
	}
	if err := writeSynced(filepath.Join(tmp, lockFile), nil); err != nil {
		return err
	}
	if err := populate(tmp, m, o); err != nil {
		return err
	}
	crashpoint.Hit("table.create.rename")
	if err := renameNoReplace(tmp, dir); err != nil {
		if errors.Is(err, os.ErrExist) || errors.Is(err, errNotEmpty) {
			return nil
		}
		return err
	}
	return persistence.SyncDir(parent)
}

// ownFile reports whether name is a file a table directory may hold.
func ownFile(name string) bool {
	switch name {
	case lockFile, commitFile, journalFile, persistence.ManifestFile:
		return true
	}
	return strings.HasSuffix(name, ".col") || (strings.HasPrefix(name, ".") && strings.Contains(name, ".tmp"))
}

// createInPlace makes a table inside an existing directory that has no
// manifest: an empty one (made by the caller), or one left by a creation
// that crashed before writing its manifest, in which case nothing was ever
// committed and its files are removed first. The caller holds the lock.
func createInPlace(dir string, m *persistence.Manifest, o Options) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var foreign []string
	for _, e := range entries {
		if !ownFile(e.Name()) {
			foreign = append(foreign, e.Name())
		}
	}
	if len(foreign) > 0 {
		return fmt.Errorf("%w: %s has no %s but holds other files (%s); use an empty or new directory",
			ErrNotTable, dir, persistence.ManifestFile, strings.Join(foreign, ", "))
	}
	// A creation that crashed left column files of one header page and no
	// rows. Anything more is a table whose manifest is missing: never wipe it.
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			return err
		}
		if !fi.Mode().IsRegular() || (strings.HasSuffix(e.Name(), ".col") && fi.Size() > headerPage) {
			return fmt.Errorf("%w: %s has no %s but holds a table's data (%s, %d bytes); restore the manifest rather than recreate the table",
				ErrCorrupt, dir, persistence.ManifestFile, e.Name(), fi.Size())
		}
	}
	for _, e := range entries {
		if e.Name() != lockFile {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return populate(dir, m, o)
}

func nowUTC() time.Time { return time.Now().UTC().Truncate(time.Second) }
