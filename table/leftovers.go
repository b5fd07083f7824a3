package table

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/mmapvec/persistence"
	"github.com/mmapvec/persistence/internal/fsutil"
	"github.com/mmapvec/persistence/lockfile"
)

// A step killed part way leaves files that nothing else removes: the
// temporary file of a manifest rewrite or of a column's creation (in the
// table directory), and the directory a table is built in before it is
// renamed into place (next to the table). Each is named by an exact
// pattern, so that a writable open and repair remove only what provably
// belongs to an interrupted step of their own, and never a user's file.

// Kinds of the directories a table is built in, next to its final place.
const (
	asideCreating   = "creating"   // Open creating a new table
	asideConverting = "converting" // Convert filling one
	asideSnapshot   = "snapshot"   // Snapshot copying a table into one
)

var (
	// os.CreateTemp replaces the * of a pattern with decimal digits.
	manifestTempRE = regexp.MustCompile(`^\.` + regexp.QuoteMeta(persistence.ManifestFile) + `\.tmp[0-9]+$`)
	// A column file (or a string column's heap, a symbol column's
	// dictionary) is created as .<file>.tmp<digits> and linked; one built
	// for a schema change or a compaction under its prepared name
	// (evolve.go) as .<file>.schema.tmp<digits>.
	columnTempRE = regexp.MustCompile(`^\.[A-Za-z0-9_][A-Za-z0-9_.-]*\.(col|bytes|sym|symbytes)(\.schema)?\.tmp[0-9]+$`)
)

// tempFile reports whether name is the temporary file of an interrupted
// manifest rewrite or column creation.
func tempFile(name string) bool {
	return manifestTempRE.MatchString(name) || columnTempRE.MatchString(name) || name == walTemp
}

// asideName reports whether name (in the parent directory) is a directory
// that a creation or conversion of table base built aside.
func asideName(base, name string) bool {
	for _, kind := range []string{asideCreating, asideConverting, asideSnapshot} {
		prefix := "." + base + "." + kind + "-"
		if rest, ok := strings.CutPrefix(name, prefix); ok && rest != "" && strings.Trim(rest, "0123456789") == "" {
			return true
		}
	}
	return false
}

// asidePattern is the os.MkdirTemp pattern of a directory of kind built
// next to table directory base.
func asidePattern(base, kind string) string { return "." + base + "." + kind + "-*" }

// leftover is a file or directory left by an interrupted step.
type leftover struct {
	path string
	// removable is set when it provably belongs to a step that is no
	// longer running; otherwise why says what stops its removal.
	removable bool
	why       string
}

func (l leftover) String() string {
	if l.removable {
		return l.path + " (left by an interrupted step; a writable open or repair removes it)"
	}
	return l.path + " (" + l.why + ")"
}

// splitDir returns the parent and base name of a table directory.
func splitDir(dir string) (parent, base string) {
	parent, base = filepath.Split(filepath.Clean(dir))
	if parent == "" {
		parent = "."
	}
	return parent, base
}

// tempLeftovers lists the temporary files in a table directory. They are
// written only under the table's exclusive lock, so a caller holding the
// lock (in either mode) knows that their writer is gone.
func tempLeftovers(dir string) ([]leftover, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []leftover
	for _, e := range entries {
		if !tempFile(e.Name()) {
			continue
		}
		l := leftover{path: filepath.Join(dir, e.Name()), removable: e.Type().IsRegular()}
		if !l.removable {
			l.why = "named like a temporary file but not a regular file; not removed"
		}
		out = append(out, l)
	}
	return out, nil
}

// asideLeftovers lists the directories that creations and conversions of
// the table dir built next to it and did not rename into place. One is
// removable only if it is a real directory (not a symlink), holds nothing
// but table files, was claimed by its builder (see [buildAside]) and its
// LOCK is free: the builder holds that lock from before the claim until
// the rename, so a free lock means the builder is gone. The probe takes a
// shared lock and writes nothing.
func asideLeftovers(dir string) []leftover {
	parent, base := splitDir(dir)
	d, err := os.Open(parent)
	if err != nil {
		return nil // no parent: nothing was built there
	}
	defer d.Close()
	var out []leftover
	// Names in batches, unsorted, with no stat: a writable open pays for
	// this, and the parent may hold many tables.
	for {
		names, err := d.Readdirnames(1024)
		for _, name := range names {
			if !asideName(base, name) {
				continue
			}
			path := filepath.Join(parent, name)
			why := asideBlocker(path)
			out = append(out, leftover{path: path, removable: why == "", why: why})
		}
		if err != nil || len(names) == 0 {
			return out
		}
	}
}

// asideBlocker returns why the aside directory at path must not be
// removed, or "" if it may.
func asideBlocker(path string) string {
	fi, err := os.Lstat(path)
	switch {
	case err != nil:
		return err.Error()
	case !fi.IsDir():
		return "not a directory; not removed"
	case fi.Mode().Perm()&0o077 == 0:
		// Made 0700 by MkdirTemp and opened up only once its builder held
		// the lock: a builder may be between the two.
		return "not yet claimed by its builder, which may be starting; remove it by hand if no process is creating this table"
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return err.Error()
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || !ownFile(e.Name()) {
			return fmt.Sprintf("holds %s, which is not a table file; not removed", e.Name())
		}
	}
	l, err := lockfile.Acquire(filepath.Join(path, lockFile), &lockfile.Options{Shared: true, NoCreate: true})
	if errors.Is(err, lockfile.ErrLocked) {
		return "its builder is running"
	}
	if err != nil {
		return err.Error()
	}
	_ = l.Release()
	return ""
}

// removeAside removes an aside directory while holding its LOCK
// exclusively, so that two cleaners never race on it and a builder that
// took the lock again (it never does) would be refused. It reports
// whether it removed it.
func removeAside(path string) (bool, error) {
	if asideBlocker(path) != "" {
		return false, nil
	}
	l, err := lockfile.Acquire(filepath.Join(path, lockFile), &lockfile.Options{NoCreate: true})
	if errors.Is(err, lockfile.ErrLocked) || errors.Is(err, fs.ErrNotExist) {
		return false, nil // taken meanwhile, or removed by another cleaner
	}
	if err != nil {
		return false, err
	}
	defer l.Release()
	if err := os.RemoveAll(path); err != nil {
		return false, err
	}
	return true, nil
}

// cleanAside removes the removable aside directories of table dir and
// returns their paths. It is best effort: a directory it cannot remove
// (permissions, say) is left for [Check] to report, and is no reason to
// refuse the table.
func cleanAside(dir string) []string {
	var removed []string
	for _, l := range asideLeftovers(dir) {
		if !l.removable {
			continue
		}
		if ok, err := removeAside(l.path); ok && err == nil {
			removed = append(removed, l.path)
		}
	}
	if len(removed) > 0 {
		parent, _ := splitDir(dir)
		_ = fsutil.SyncDir(parent)
	}
	return removed
}

// cleanTemps removes the temporary files of interrupted steps from table
// directory dir, whose exclusive lock the caller holds, and returns their
// paths.
func cleanTemps(dir string) ([]string, error) {
	temps, err := tempLeftovers(dir)
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, l := range temps {
		if !l.removable {
			continue
		}
		if err := os.Remove(l.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return removed, err
		}
		removed = append(removed, l.path)
	}
	return removed, nil
}

// cleanLeftovers removes what interrupted steps of this library left in
// and next to table directory dir: temporary files inside it, and aside
// directories of creations and conversions beside it. The caller holds
// the table's lock; a read-only open removes nothing (readOnly), and
// [Check] reports what is there instead.
func cleanLeftovers(dir string, readOnly bool) error {
	if readOnly {
		return nil
	}
	cleanAside(dir)
	if _, err := cleanTemps(dir); err != nil {
		return fmt.Errorf("remove leftovers: %w", err)
	}
	return nil
}
