package table

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mmapvec/persistence"
	"github.com/mmapvec/persistence/internal/colfile"
	"github.com/mmapvec/persistence/internal/crashpoint"
	"github.com/mmapvec/persistence/internal/fsutil"
	"github.com/mmapvec/persistence/lockfile"
)

const (
	lockFile   = "LOCK"
	headerPage = 4096 // a column file's header: all a new column file holds
)

// columnTag is the user tag of every table column file.
var columnTag = [8]byte{'t', 'a', 'b', 'l', 'e', 'c', 'o', 'l'}

// newManifest is the manifest of a new table: each column gets its
// identity, 1, 2, ... in order, and the history its creation.
func newManifest(cols []persistence.ColumnSpec, rowSize int, o Options) *persistence.Manifest {
	now := persistence.Stamp{Time: nowUTC(), CPU: persistence.HostCPU()}
	m := &persistence.Manifest{Format: persistence.ManifestFormat, Version: persistence.ManifestVersion,
		DataVersion: o.DataVersion, RowSize: rowSize, Arch: persistence.HostArch(),
		Created: now, LastWriterCPU: now.CPU, NextID: 1}
	for _, c := range cols {
		c.ID = m.NextID
		m.NextID++
		l := c.Layout
		m.Columns = append(m.Columns, c)
		m.History = append(m.History, persistence.SchemaChange{Change: 1, Time: now.Time, Op: "create", ID: c.ID, Name: c.Name, Layout: &l, Kind: c.Kind})
	}
	return m
}

// columnFiller gives file j of column i of a new table its contents: r is
// the new, empty file (j 0 is the column file, j > 0 its AuxFiles). It
// makes what it wrote durable, or its caller does before the table is
// renamed into place.
type columnFiller func(i, j int, r *colfile.File) error

// populate writes a table's files into dir: each column's files, given
// their contents by fillCol (nil: empty), then COMMIT with rows committed
// and each variable-length column's extent (extent nil: 0), then the
// manifest last, whose presence means the table exists. Every file is
// synced before the next is written. steps names the crash points of the
// calling operation ("table.create", "table.convert", "table.snapshot").
func populate(dir string, m *persistence.Manifest, o Options, fillCol columnFiller, rows int, extent func(string) uint64, steps string) error {
	for i, c := range m.Columns {
		layouts := append([]persistence.Layout{c.Layout}, auxLayouts(c.Kind)...)
		for j, name := range c.Files() {
			// The directory is fsynced once, before it is renamed into place.
			r, err := colfile.Open(filepath.Join(dir, name), layouts[j],
				&colfile.Options{Tag: columnTag, DataVersion: o.DataVersion, Create: true, NoDirSync: true})
			if err != nil {
				return err
			}
			if fillCol != nil {
				err = fillCol(i, j, r)
			}
			if err = errors.Join(err, r.Close()); err != nil {
				return err
			}
		}
	}
	crashpoint.Hit(steps + ".columns")
	if err := makeReadersFile(dir); err != nil {
		return err
	}
	// As a new table's COMMIT: slot 0 {seq 1} holds the rows, slot 1
	// {seq 0} an empty table; both valid.
	commit := append(encodeCommit(0, commitSlot{seq: 1, rows: uint64(rows), hash: m.Hash(), lengths: commitLengths(m, rows, extent)}),
		encodeCommit(1, commitSlot{seq: 0, hash: m.Hash(), lengths: commitLengths(m, 0, nil)})...)
	if err := writeSynced(filepath.Join(dir, commitFile), commit); err != nil {
		return err
	}
	crashpoint.Hit(steps + ".commit")
	return writeManifest(dir, m)
}

// makeReadersFile makes a new table's READERS file: a page of zeros (no
// writer yet), its blocks allocated. Readers find it from the start, so
// that none of them takes the shared LOCK of a table whose writers never
// made one (an earlier format), which would keep the first writer out.
func makeReadersFile(dir string) error {
	f, err := openTableFile(filepath.Join(dir, readersFile), os.O_RDWR|os.O_CREATE|os.O_EXCL)
	if err != nil {
		return err
	}
	return errors.Join(fsutil.Allocate(f, 0, readersSize), f.Close())
}

// writeManifest replaces dir's manifest atomically.
func writeManifest(dir string, m *persistence.Manifest) error {
	b, err := readableManifest(m)
	if err != nil {
		return err
	}
	return fsutil.ReplaceFile(dir, persistence.ManifestFile, b)
}

// readableManifest returns m marshalled, or why no open could read it back
// (a row past [persistence.MaxRowSize], a manifest past
// [persistence.MaxManifestSize], anything else [persistence.Manifest.Validate]
// refuses): a row type the format cannot hold is refused before a table or
// a schema change is made of it, not found damaged by the next open.
func readableManifest(m *persistence.Manifest) ([]byte, error) {
	if m.RowSize > persistence.MaxRowSize {
		return nil, fmt.Errorf("%w: a row of %d bytes, more than the %d a table's row may hold", ErrTooLarge, m.RowSize, persistence.MaxRowSize)
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("%w: the row type makes a manifest no open reads: %w", ErrType, err)
	}
	b, err := m.Marshal()
	if err == nil && len(b) > persistence.MaxManifestSize {
		err = fmt.Errorf("%w: its manifest would be %d bytes (%d columns, %d changes in its history), more than the %d an open reads",
			ErrTooLarge, len(b), len(m.Columns), len(m.History), persistence.MaxManifestSize)
	}
	return b, err
}

// fill writes rows elements of native bytes into a new column file and
// makes them durable (fdatasync: the file grew).
func fill(r *colfile.File, b []byte, rows int) error {
	if err := r.EnsureCap(rows); err != nil {
		return err
	}
	if err := r.WriteAt(b, 0); err != nil {
		return err
	}
	if err := r.SetLen(rows); err != nil {
		return err
	}
	return r.Flush()
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

// aside is a table directory built next to its final place and renamed
// into place only once complete and durable, so that the final name holds
// a whole table or nothing. Its builder holds its LOCK throughout; that is
// how a cleaner tells a live build from one that was killed (see
// asideLeftovers).
type aside struct {
	dir, parent, final string
	lock               *lockfile.Lock
	renamed            bool
}

// newAside makes an empty directory of kind next to final and takes its
// lock. The directory is made 0700 and opened up to 0755 only once the
// lock is held: a cleaner that sees 0755 and a free lock knows that the
// builder is gone, where one that sees 0700 cannot tell a builder that is
// starting from one that died at once, and leaves it.
func newAside(final, kind string) (*aside, error) {
	parent, base := splitDir(final)
	tmp, err := os.MkdirTemp(parent, asidePattern(base, kind))
	if err != nil {
		return nil, err
	}
	lock, err := lockfile.Acquire(filepath.Join(tmp, lockFile), nil)
	if err == nil {
		if err = os.Chmod(tmp, 0o755); err != nil {
			_ = lock.Release()
		}
	}
	if err != nil {
		_ = os.RemoveAll(tmp)
		return nil, err
	}
	return &aside{dir: tmp, parent: parent, final: final, lock: lock}, nil
}

// rename makes the aside directory's entries durable, renames it to its
// final name unless that exists (os.ErrExist, or errNotEmpty where
// rename(2) cannot refuse an existing empty target) and makes the rename
// durable. steps names the crash points, as for populate.
func (a *aside) rename(steps string) error {
	if err := fsutil.SyncDir(a.dir); err != nil {
		return err
	}
	crashpoint.Hit(steps + ".rename")
	if err := renameNoReplace(a.dir, a.final); err != nil {
		return err
	}
	a.renamed = true
	crashpoint.Hit(steps + ".renamed")
	return fsutil.SyncDir(a.parent)
}

// close removes the directory unless it was renamed into place, and then
// releases its lock (in that order: a released lock on a directory still
// there would let a cleaner race the removal).
func (a *aside) close() {
	if !a.renamed {
		_ = os.RemoveAll(a.dir)
	}
	_ = a.lock.Release()
}

// createNew builds a table next to dir and renames it into place, so that
// dir appears complete or not at all; created reports whether it did.
// Losing a race to another creator is not an error: the caller opens what
// won.
func createNew(dir string, m *persistence.Manifest, o Options) (created bool, err error) {
	if _, err := readableManifest(m); err != nil {
		return false, err
	}
	a, err := newAside(dir, asideCreating)
	if err != nil {
		return false, err
	}
	defer a.close()
	if err := populateNew(a.dir, m, o); err != nil {
		return false, err
	}
	err = a.rename("table.create")
	if !a.renamed && (errors.Is(err, os.ErrExist) || errors.Is(err, errNotEmpty)) {
		return false, nil
	}
	return a.renamed, err
}

// populateNew writes the files of a new, empty table into dir (populate),
// then its log, made now so that no Sync pays for writing it (the first
// Sync of the open that created the table is logged as well). The log
// comes last, so that on a disk too full for it (or under a file size
// limit below it) the columns still get their room: the log is then the
// smallest, or, where even that does not fit, none, and the table
// checkpoints every Sync until one can be made. Any other failure fails
// the creation.
func populateNew(dir string, m *persistence.Manifest, o Options) error {
	if err := populate(dir, m, o, nil, 0, nil, "table.create"); err != nil {
		return err
	}
	f, _, _, err := makeFittingLog(dir, logSizeOf(o), nil)
	if err != nil {
		if noRoom(err) {
			return nil
		}
		return err
	}
	return f.Close()
}

// ownFile reports whether name is a file a table directory may hold:
// the table's own files, and the temporary files of its interrupted steps.
func ownFile(name string) bool {
	switch name {
	case lockFile, commitFile, journalFile, readersFile, walFile, persistence.ManifestFile:
		return true
	}
	return strings.HasSuffix(name, ".col") || tempFile(name)
}

// createInPlace makes a table inside an existing directory that has no
// manifest: an empty one (made by the caller), or one left by a creation
// that crashed before writing its manifest, in which case nothing was ever
// committed and its files are removed first. The caller holds the lock.
func createInPlace(dir string, m *persistence.Manifest, o Options) error {
	if _, err := readableManifest(m); err != nil {
		return err
	}
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
	return populateNew(dir, m, o)
}

func nowUTC() time.Time { return time.Now().UTC().Truncate(time.Second) }
