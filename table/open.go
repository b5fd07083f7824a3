package table

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"

	"github.com/mmapvec/persistence"
	"github.com/mmapvec/persistence/internal/colfile"
	"github.com/mmapvec/persistence/internal/colset"
	"github.com/mmapvec/persistence/internal/varcol"
	"github.com/mmapvec/persistence/lockfile"
)

// Open opens the table in dir for rows of type R, creating it (atomically)
// if dir does not exist or is empty, unless opts.ReadOnly. Missing parent
// directories are created as well, each made durable in its own parent.
//
// R is a struct; each exported field is a column, named by the field or by a
// `persist:"name"` tag, and `persist:"-"` skips a field. Fields must be
// fixed-size and pointer-free. An embedded struct is flattened into its
// fields' columns, as encoding/json promotes them, unless tagged with a
// name or `persist:",whole"` (see the package doc, "Row types").
//
// Open recovers from a crash: see [Table.Recovered] for what it did. It
// fails with [ErrLocked] if another process (or handle) holds the table in
// a conflicting mode, [ErrArch] if the table was written on a machine of
// another byte order or pointer size, [ErrSchema] if R differs from the
// table's schema, and [ErrCorrupt] if a file is damaged. An empty dir, and
// a table that does not exist opened read-only (or as [Any]), fail with
// [ErrNotTable]; the latter matches fs.ErrNotExist as well.
func Open[R any](dir string, opts *Options) (*Table[R], error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	t := newTable[R](dir, o)
	rt := reflect.TypeFor[R]()
	var cols []persistence.ColumnSpec
	if !t.untyped {
		var err error
		if t.schema, err = schemaOf(rt, true); err != nil {
			return nil, err
		}
		cols = t.schema.cols
	}
	schema := t.schema // as R declares it: an open may take the table's
	err := t.openGuarded(cols, int(rt.Size()))
	for try := 0; err != nil && t.schemaMoved(err) && try < 8; try++ {
		// A writer changed the schema (columns may be added beside
		// readers) between this reader's read of the manifest and of
		// COMMIT: open again, under the new manifest.
		if err := t.Close(); err != nil {
			return nil, err
		}
		t = newTable[R](dir, o)
		t.schema = schema
		err = t.openGuarded(cols, int(rt.Size()))
	}
	if err != nil {
		return nil, errors.Join(err, t.Close())
	}
	t.opened = true
	return t, nil
}

// schemaMoved reports whether a reader's open failed on damage because the
// manifest it read is no longer the table's.
func (t *core) schemaMoved(err error) bool {
	if !t.opts.ReadOnly || t.man == nil || !errors.Is(err, ErrCorrupt) {
		return false
	}
	man, rerr := readTableManifest(t.dir)
	return rerr == nil && man.Hash() != t.hash
}

// openGuarded is open with its stores into mappings (recovery, the
// readers' page) guarded against faults (fault.go).
func (t *core) openGuarded(cols []persistence.ColumnSpec, rowSize int) error {
	var err error
	if fault := faultless(func() { err = t.open(cols, rowSize) }); fault != nil {
		return fmt.Errorf("table: %s: %w", t.dir, fault)
	}
	return err
}

// validate checks the Options fields that have a range: ErrOptions.
func (o Options) validate() error {
	if n := o.LogSize; n != 0 && (n < MinLogSize || n > MaxLogSize) {
		return fmt.Errorf("%w: LogSize %d is outside [%d, %d] (0 for %d)", ErrOptions, n, MinLogSize, MaxLogSize, DefaultLogSize)
	}
	if n := o.MaxSymbols; n < 0 || n > varcol.MaxCodes {
		return fmt.Errorf("%w: MaxSymbols %d is outside [0, %d] (0 for %d)", ErrOptions, n, varcol.MaxCodes, DefaultMaxSymbols)
	}
	if o.MaxValueSize < 0 {
		return fmt.Errorf("%w: MaxValueSize %d is negative (0 for %d)", ErrOptions, o.MaxValueSize, DefaultMaxValueSize)
	}
	return nil
}

func (t *core) open(cols []persistence.ColumnSpec, rowSize int) error {
	dir, o := t.dir, t.opts
	if dir == "" {
		// Some calls would take "" as the current directory and others as
		// no name at all (a rename fails): refuse it before either.
		return fmt.Errorf("%w: the directory name is empty", ErrNotTable)
	}
	if err := o.validate(); err != nil {
		return err
	}
	fresh := newManifest(cols, rowSize, o)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist) && (o.ReadOnly || t.untyped):
		// Nothing to create: a reader writes nothing, and Any has no schema.
		return fmt.Errorf("%w: %s: %w", ErrNotTable, dir, err)
	case errors.Is(err, os.ErrNotExist):
		if err := mkdirParents(dir); err != nil {
			return fmt.Errorf("table: create %s: %w", dir, err)
		}
		created, err := createNew(dir, fresh, o)
		if err != nil {
			return fmt.Errorf("table: create %s: %w", dir, err)
		}
		t.recovery.Created = created
	case err != nil:
		return fmt.Errorf("table: %w", err)
	case !fi.IsDir():
		return fmt.Errorf("%w: %s is not a directory", ErrNotTable, dir)
	}

	if o.ReadOnly || t.untyped {
		// Neither makes a table, so neither leaves a lock file behind in a
		// directory that holds none.
		if _, err := os.Lstat(filepath.Join(dir, persistence.ManifestFile)); errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%w: %s has no %s", ErrNotTable, dir, persistence.ManifestFile)
		}
	}
	if err := t.lockDir(); err != nil {
		return err
	}
	if err := cleanLeftovers(dir, o.ReadOnly); err != nil {
		return fmt.Errorf("table: %s: %w", dir, err)
	}

	man, err := readTableManifest(dir)
	if errors.Is(err, os.ErrNotExist) && !o.ReadOnly && !t.untyped {
		if err := createInPlace(dir, fresh, o); err != nil {
			return fmt.Errorf("table: create %s: %w", dir, err)
		}
		t.recovery.Created = true
		man, err = readTableManifest(dir)
	}
	if err != nil {
		return err
	}
	// A schema change a crash interrupted is finished or rolled back first.
	if o.ReadOnly {
		if err := t.readSchemaPending(man); err != nil {
			return err
		}
	} else if what, err := resumeSchema(dir, man, o.LockTimeout); err != nil {
		return fmt.Errorf("table: %s: %w", dir, err)
	} else if what != "" {
		t.recovery.SchemaResumed = what
	}
	if t.untyped {
		cols = man.Columns
		t.opts.DataVersion = man.DataVersion
	} else {
		// A table made before embedded structs were flattened keeps them
		// whole (schemaFor); a record type that differs from the schema in
		// ways a writable open may apply evolves it (evolve.go).
		s, e, err := schemaFor(man, t.schema, t.rowType, t.opts, rowSize)
		if err != nil {
			return fmt.Errorf("table: %s: %w", dir, err)
		}
		if e != nil {
			if err := t.evolve(man, e); err != nil {
				return err
			}
			if man, err = readTableManifest(dir); err != nil {
				return err
			}
		}
		t.schema = s
		cols = t.schema.cols
	}
	return t.openColumns(man, cols, rowSize)
}

// openColumns opens the columns cols of the table whose manifest is man
// (all of them, or a reader's subset), recovers or reads the row count,
// and readies the row codec. The directory's lock is held.
func (t *core) openColumns(man *persistence.Manifest, cols []persistence.ColumnSpec, rowSize int) error {
	dir, o := t.dir, t.opts
	if man.DataVersion != o.DataVersion {
		return fmt.Errorf("table: %s: %w: table has data version %d, opened with %d", dir, ErrDataVersion, man.DataVersion, o.DataVersion)
	}
	t.man, t.hash = man, man.Hash()
	t.recovery.CPUMissing, t.recovery.CPUAdded = man.CPUDiff()

	// Columns in the type's order (the manifest may list them otherwise).
	specs := make([]colset.Spec, len(cols))
	offsets := make([]int, len(cols))
	for i, c := range cols {
		specs[i] = colset.Spec{Name: c.Name, Path: filepath.Join(dir, c.File), Layout: c.Layout}
		offsets[i] = c.Offset
	}
	var err error
	if t.set, err = colset.Open(specs, colfile.Options{Tag: columnTag, DataVersion: o.DataVersion, ReadOnly: o.ReadOnly}); err != nil {
		return fmt.Errorf("table: %s: %w", dir, err)
	}
	if err := t.openVars(cols); err != nil {
		return err
	}
	t.recovery.ExtraFiles = extraFiles(dir, man)

	if o.ReadOnly {
		err = t.openReader()
	} else {
		err = t.openWriter()
	}
	if err != nil {
		return err
	}
	t.rows = t.set.Len()
	if t.recovery.Created && !o.ReadOnly && t.wal != nil && t.seq == 1 && t.logged == 0 && t.rows == 0 {
		// The creation made every file durable, so this open inherits
		// nothing unflushed: its first Sync may be logged. Only if the
		// table is still as created: between the rename that made it and
		// this open's lock, another process may have opened it, written
		// rows and left them unflushed.
		t.checkpointNext = false
		t.markSynced()
	}
	if t.untyped {
		return nil // minCap 0: every append takes the checked path, which refuses it
	}
	if !o.ReadOnly {
		t.cow = cowFS(dir)
		t.startPretouch()
		t.minCap = t.fastLimit() // read-only: 0, so appends take the checked path
	}
	external := make([]bool, len(cols))
	for i, c := range cols {
		external[i] = c.Variable()
	}
	t.rc = t.bindCodec(t.set.Columns(), offsets, external)
	t.scratch = make([]byte, t.rc.PackedSize())

	if !o.ReadOnly {
		if err := t.touchManifest(); err != nil {
			return err
		}
	}
	return nil
}

// readTableManifest reads dir's manifest for an open: damage matches
// ErrCorrupt too, and the machine must fit.
func readTableManifest(dir string) (*persistence.Manifest, error) {
	m, err := persistence.ReadManifest(dir)
	if errors.Is(err, persistence.ErrManifest) {
		// A damaged manifest is a damaged table: it matches ErrCorrupt too.
		return nil, fmt.Errorf("table: %s: %w", dir, corrupt{err})
	}
	if err != nil {
		return nil, fmt.Errorf("table: %s: %w", dir, err)
	}
	if err := m.CheckArch(); err != nil {
		return nil, fmt.Errorf("table: %s: %w", dir, err)
	}
	return m, nil
}

// lockDir takes what keeps the table's files in place while it is open: a
// writer's exclusive LOCK, or a reader's shared flock on READERS, which no
// writer waits for (only an operation that rewrites files does). A table
// whose writers never made READERS (an earlier format) is read under a
// shared LOCK, as it was then.
func (t *core) lockDir() error {
	dir, o := t.dir, t.opts
	lockPath := filepath.Join(dir, lockFile)
	if o.ReadOnly {
		p, err := openReadersReader(dir, o.LockTimeout)
		if err == nil {
			t.readers = p
			return nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	var err error
	t.lock, err = lockfile.Acquire(lockPath, &lockfile.Options{Shared: o.ReadOnly, Timeout: o.LockTimeout, NoCreate: o.ReadOnly})
	if err != nil {
		return lockError(dir, err, o.ReadOnly)
	}
	return nil
}

// openWriter recovers the table and publishes it to readers: the READERS
// page is claimed first (its sequence count odd, as recovery may change
// rows in place) and made ready with the recovered counts.
func (t *core) openWriter() error {
	var err error
	if t.readers, err = openReadersWriter(t.dir); err != nil {
		return fmt.Errorf("table: %s: %w", t.dir, err)
	}
	last, seq, ok := t.readers.lastSynced() // before the claim makes any page this boot's
	t.readers.claim()
	if err := t.recover(); err != nil {
		return err
	}
	if ok {
		t.lowerCommitted(last, seq)
	}
	t.readers.ready(t.set.Len(), t.recovery.CommittedRows, t.seq)
	t.set.PublishTo(t.readers.rowsWord())
	return nil
}

// regularFile checks that path is a regular file and not a symlink, which
// could lead reads and writes outside the table directory.
func regularFile(path string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file (%s); the table's files must be its own", path, fi.Mode().Type())
	}
	return nil
}

// extraFiles lists files the manifest does not account for.
func extraFiles(dir string, m *persistence.Manifest) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	known := map[string]bool{lockFile: true, commitFile: true, journalFile: true, readersFile: true, walFile: true, persistence.ManifestFile: true}
	for _, c := range m.Columns {
		for _, f := range c.Files() {
			known[f] = true
		}
	}
	var extra []string
	for _, e := range entries {
		if !known[e.Name()] {
			extra = append(extra, e.Name())
		}
	}
	return extra
}

// touchManifest records this machine's CPU as the last writer's,
// rewriting the manifest only when it changed: a rewrite costs fsyncs, and
// an open must stay O(1) and cheap.
func (t *core) touchManifest() error {
	cpu := persistence.HostCPU()
	if reflect.DeepEqual(cpu, t.man.LastWriterCPU) && slices.Equal(cpu.Features, t.man.LastWriterCPU.Features) {
		return nil
	}
	m := *t.man
	m.LastWriterCPU = cpu
	if err := writeManifest(t.dir, &m); err != nil {
		return fmt.Errorf("table: %s: update manifest: %w", t.dir, err)
	}
	t.man = &m
	return nil
}
