package table

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"

	"github.com/mmapvec/persistence"
	"github.com/mmapvec/persistence/internal/colfile"
	"github.com/mmapvec/persistence/lockfile"
)

// RepairReport says what [Repair] found and did.
type RepairReport struct {
	Dir string
	// Recovery is what the writable open found and did.
	Recovery Recovery
	// Rows is the row count that Repair committed.
	Rows int
	// Trimmed maps each column file whose partial element past the last
	// whole one was cut to the number of bytes cut.
	Trimmed map[string]int
	// Removed lists the leftovers of interrupted steps that were removed.
	Removed []string
}

// String describes the repair in one line.
func (r *RepairReport) String() string {
	parts := []string{fmt.Sprintf("%s: %d rows committed; %s", r.Dir, r.Rows, r.Recovery)}
	files := make([]string, 0, len(r.Trimmed))
	for f := range r.Trimmed {
		files = append(files, f)
	}
	slices.Sort(files)
	for _, f := range files {
		parts = append(parts, fmt.Sprintf("trimmed %d bytes of a partial element from %s", r.Trimmed[f], f))
	}
	if len(r.Removed) > 0 {
		parts = append(parts, "removed leftovers of interrupted steps: "+strings.Join(r.Removed, ", "))
	}
	return strings.Join(parts, "; ")
}

// Repair brings the table in dir to a committed, consistent state: it
// removes what interrupted steps of this library left in and next to it,
// cuts each column file to a whole number of elements (a growth that
// stopped part way leaves a partial one past the rows), opens the table
// writable, which recovers it (finishes an interrupted SetRow, SwapRemove
// or Truncate, cuts unequal columns), and commits the rows with a Sync.
// Once it returns nil, every row the table holds survives an OS crash or
// power loss; without the Sync, rows kept from the page cache after a
// process crash would be lost by the next one.
//
// Repair never creates a table: a dir without one is [ErrNotTable]. Of
// opts, only LockTimeout counts (ReadOnly is refused); the schema and data
// version come from the manifest. Cutting a file would fault the readers
// that map it: Repair waits up to LockTimeout for them to close, and then
// fails with a [*ReadersError] naming their pids (it matches [ErrReaders]).
func Repair(dir string, opts *Options) (*RepairReport, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.ReadOnly {
		return nil, fmt.Errorf("%w: repair %s: Options.ReadOnly set, but repair writes", ErrOptions, dir)
	}
	rep := &RepairReport{Dir: dir, Trimmed: map[string]int{}}
	// Aside directories are guarded by their own locks, not the table's,
	// and a killed creation leaves one even where no table appeared.
	rep.Removed = cleanAside(dir)
	man, err := persistence.ReadManifest(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return rep, fmt.Errorf("%w: %s: %w", ErrNotTable, dir, err)
	}
	if errors.Is(err, persistence.ErrManifest) {
		err = corrupt{err} // a damaged manifest is a damaged table, as for Open
	}
	if err != nil {
		return rep, fmt.Errorf("table: repair %s: %w", dir, err)
	}

	// Temporary files and partial elements under the table's exclusive
	// lock: no writer is rewriting the manifest or growing a column.
	lock, err := lockfile.Acquire(filepath.Join(dir, lockFile), &lockfile.Options{Timeout: o.LockTimeout})
	if err != nil {
		return rep, lockError(dir, err, false)
	}
	removed, err := cleanTemps(dir)
	rep.Removed = append(rep.Removed, removed...)
	if err == nil {
		// Trimming shrinks files: readers that map them would fault.
		var x *readersExcluded
		if x, err = excludeReaders(dir, o.LockTimeout); err == nil {
			err = errors.Join(rep.trim(dir, man), x.release())
		}
	}
	if err = errors.Join(err, lock.Release()); err != nil {
		return rep, fmt.Errorf("table: repair %s: %w", dir, err)
	}

	// Between the release and the open another writer may take the table:
	// then the open fails with ErrLocked, and what was done holds anyway
	// (a writer never brings back a leftover or a partial element).
	t, err := Open[Any](dir, &Options{LockTimeout: o.LockTimeout})
	if err != nil {
		return rep, err
	}
	rep.Recovery, rep.Rows = t.Recovered(), t.Len()
	err = t.sync()
	if err = errors.Join(err, t.Close()); err != nil {
		return rep, fmt.Errorf("table: repair %s: commit: %w", dir, err)
	}
	return rep, nil
}

// trim cuts each column file to a whole number of elements. A column that
// cannot be read is left for the open to report.
func (r *RepairReport) trim(dir string, man *persistence.Manifest) error {
	for _, c := range man.Columns {
		layouts := append([]persistence.Layout{c.Layout}, auxLayouts(c.Kind)...)
		for j, f := range c.Files() {
			n, err := colfile.TrimPartial(filepath.Join(dir, f), layouts[j].Size)
			switch {
			case errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrCorrupt) || errors.Is(err, ErrElemType):
				continue
			case err != nil:
				return fmt.Errorf("column %q: %w", c.Name, err)
			case n > 0:
				r.Trimmed[f] = n
			}
		}
	}
	return nil
}
