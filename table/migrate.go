package table

import (
	"errors"
	"fmt"
	"io/fs"
	"runtime/debug"

	"github.com/mmapvec/persistence"
	"github.com/mmapvec/persistence/internal/crashpoint"
	"github.com/mmapvec/persistence/internal/fsutil"
)

// Migrate opens the table in dir for rows of type R at data version to,
// migrating it first when it is at an older one: migrate runs once, under
// the writer's lock, with the table open at its stored data version (rows
// of R; a schema change R asks for is made first, as Open makes it), for
// what is more than a schema change (recomputing a column, rewriting
// values in a new unit). Then the rows are synced and the table switches
// to data version to, crash safe in the way of a schema change (the
// manifest's history records it). A missing table is created at version
// to; one at version to opens as with [Open]; a newer one is
// [ErrDataVersion]. Like a schema change that rewrites files, it waits
// for readers (up to opts.LockTimeout), else fails with a [ReadersError];
// they stay out until it returns, so migrate may call [Table.Compact] to
// drop the values it replaced.
//
// If migrate fails, its error is returned and the table stays at its
// version (what migrate changed stays too, in the page cache until a
// Sync: make it idempotent). If the process dies during migrate, the next
// Migrate runs it again.
func Migrate[R any](dir string, to uint32, migrate func(t *Table[R], from uint32) error, opts *Options) (*Table[R], error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.ReadOnly {
		return nil, fmt.Errorf("%w: migrate %s: Options.ReadOnly set, but a migration writes", ErrOptions, dir)
	}
	if migrate == nil {
		return nil, fmt.Errorf("%w: migrate %s: no migration func", ErrOptions, dir)
	}
	o.DataVersion = to
	m, err := persistence.ReadManifest(dir)
	switch {
	case err != nil:
		// No table (Open creates one at to) or a damaged one (Open says so).
		return Open[R](dir, &o)
	case m.DataVersion == to:
		return Open[R](dir, &o)
	case m.DataVersion > to:
		return nil, fmt.Errorf("table: migrate %s: %w: the table has data version %d, newer than %d", dir, ErrDataVersion, m.DataVersion, to)
	}
	from := m.DataVersion
	o.DataVersion = from
	t, err := Open[R](dir, &o)
	if err != nil {
		return nil, err
	}
	// Readers opened at from would read rows of another version, the
	// migrated ones first and then all of them: they are kept out.
	x, err := excludeReaders(dir, o.LockTimeout)
	if err != nil {
		return nil, errors.Join(err, t.Close())
	}
	defer x.release()
	t.noReaders = true
	defer func() {
		// A panic in migrate leaves no table to the caller: close it, so
		// that the process may open the table again.
		if p := recover(); p != nil {
			t.noReaders = false
			t.Close()
			panic(p)
		}
	}()
	err = migrate(t, from)
	t.noReaders = false
	if err != nil {
		return nil, errors.Join(fmt.Errorf("table: migrate %s from data version %d to %d: %w", dir, from, to, err), t.Close())
	}
	if err := t.check(true); err != nil {
		return nil, errors.Join(fmt.Errorf("table: migrate %s: after the migration: %w", dir, err), t.Close())
	}
	if err := t.migrateTo(from, to); err != nil {
		return nil, errors.Join(fmt.Errorf("table: migrate %s from data version %d to %d: %w", dir, from, to, err), t.Close())
	}
	return t, nil
}

// migrateTo commits the rows and switches the table, open under its lock,
// to data version to: a SCHEMA record naming every column file, the new
// COMMIT, the manifest, then each column header's data version. The table
// is then opened again, at version to, without letting go of the lock.
func (t *core) migrateTo(from, to uint32) (err error) {
	defer t.guarded(debug.SetPanicOnFault(true), &err)
	if err := t.sync(); err != nil {
		return err
	}
	next := identified(t.man)
	next.DataVersion = to
	next.History = append(next.History, persistence.SchemaChange{Change: nextChange(next), Time: nowUTC(), Op: "migrate", From: from, To: to})
	if _, err := readableManifest(next); err != nil {
		return err
	}
	rec := schemaRecord{Target: next.Hash(), DataVersion: &to}
	for _, c := range next.Columns {
		rec.Headers = append(rec.Headers, c.Files()...)
	}
	rows, seq := t.rows, t.seq
	lengths := commitLengths(next, rows, t.extentOf)
	if err := t.closeFiles(); err != nil {
		return err
	}
	if err := rec.write(t.dir); err != nil {
		return err
	}
	crashpoint.Hit("table.schema.record")
	if err := writeCommitNext(t.dir, lengths, rows, seq, rec.Target); err != nil {
		rollbackSchema(t.dir, rec)
		return err
	}
	if err := fsutil.SyncDir(t.dir); err != nil {
		rollbackSchema(t.dir, rec)
		return err
	}
	crashpoint.Hit("table.schema.switch")
	if err := writeManifest(t.dir, next); err != nil {
		return err
	}
	crashpoint.Hit("table.schema.switched")
	if err := finishSchema(t.dir, rec); err != nil {
		return err
	}
	m, err := persistence.ReadManifest(t.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: the manifest is gone", ErrCorrupt)
	}
	if err != nil {
		return err
	}
	t.opts.DataVersion = to
	keep := t.recovery
	t.recovery = Recovery{SchemaChanges: append(keep.SchemaChanges, next.History[len(next.History)-1])}
	return t.reopenAs(m, t.schema.cols, int(m.RowSize))
}
