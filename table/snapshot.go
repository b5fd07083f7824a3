package table

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/mmapvec/persistence"
	"github.com/mmapvec/persistence/internal/colfile"
	"github.com/mmapvec/persistence/internal/fsutil"
)

// Snapshot writes a point-in-time copy of the table into dst, a directory
// that must not exist, while the table stays open (and its writer, if this
// is a reader, keeps appending). The copy holds the rows the table shows:
// a writer's every row; a reader's latest published count (with
// [Options.SyncedOnly], the count of the writer's last Sync), refreshed
// first. It opens as an ordinary table, committed: its rows survive an OS
// crash once Snapshot returns nil. Its [Table.Meta] is what the table's
// returns as Snapshot copies: on a writer, the last Sync's (rows appended
// since are copied too); on a reader, the writer's latest, which may be of
// a Sync later than the rows copied (a reader never reads an older meta).
//
// Only the live rows are copied, not the columns' spare capacity. Where the
// file system can share blocks between files (btrfs, XFS), they are shared
// (a reflink), so a snapshot costs little time and space until either side
// changes them; elsewhere the kernel copies them (copy_file_range).
//
// The copy is built in a hidden directory next to dst and renamed into
// place once complete and durable: a crash part way leaves no dst, only a
// hidden directory that the next Snapshot, Open or Repair of dst removes.
// A reader copies again when a change in place overlapped the copy (see
// [Table.Consistent]; the fsyncs come once, after), and fails with
// [ErrBusy] when changes in place never leave it a whole copy's time within
// the lock timeout (at least a second): snapshot a table whose rows change
// in place that often from its writer. On a writable table, writes through column slices made by other
// goroutines while Snapshot runs may or may not be in the copy.
func (t *core) Snapshot(dst string) error {
	if err := t.check(false); err != nil {
		return err
	}
	if err := t.checkSnapshotDst(dst); err != nil {
		return err
	}
	cleanAside(dst) // what an interrupted Snapshot of dst left
	if _, err := os.Lstat(dst); err == nil {
		return fmt.Errorf("table: snapshot of %s: %s exists; name a new directory: %w", t.dir, dst, os.ErrExist)
	}
	var a *aside
	defer func() {
		if a != nil {
			a.close()
		}
	}()
	// Only the copy is retried when a change in place overlaps it; the
	// fsyncs, which take longer, follow once.
	var (
		m    *persistence.Manifest
		meta []byte
	)
	err := t.Consistent(func() error {
		if a != nil {
			a.close() // a copy that a change in place overlapped
		}
		var err error
		if m, err = t.snapshotManifest(); err != nil {
			return err
		}
		if a, err = newAside(dst, asideSnapshot); err != nil {
			return err
		}
		rows, extents := t.rows, t.snapshotExtents(m)
		meta = t.Meta() // a writer's last Sync's; a reader's writer's latest
		// The files first (headers, COMMIT, manifest), then every column's
		// rows at once: the copies overlap in the kernel. Nothing is
		// durable, or visible under dst, before syncColumns and the rename.
		if err := populate(a.dir, m, Options{DataVersion: t.opts.DataVersion}, nil, rows, extents, "table.snapshot"); err != nil {
			return err
		}
		return t.copyColumns(a.dir, m, rows, extents)
	})
	if err == nil && len(meta) > 0 {
		// The meta goes with the rows, in the log's slot for the copy's
		// commit (seq 1), as a log made where a meta was committed holds it.
		var f *os.File
		if f, _, _, err = makeFittingLog(a.dir, t.logSize(), encodeWALSlot(0, walSlot{seq: 1, hash: m.Hash(), meta: meta})); err == nil {
			err = f.Close()
		}
	}
	if err == nil {
		err = syncColumns(a.dir, m)
	}
	if err != nil {
		return fmt.Errorf("table: snapshot of %s into %s: %w", t.dir, dst, err)
	}
	if err := a.rename("table.snapshot"); err != nil {
		if !a.renamed && (errors.Is(err, os.ErrExist) || errors.Is(err, errNotEmpty)) {
			return fmt.Errorf("table: snapshot of %s: %s was created by another process meanwhile; name a new directory: %w", t.dir, dst, os.ErrExist)
		}
		return fmt.Errorf("table: snapshot of %s into %s: %w", t.dir, dst, err)
	}
	return nil
}

// checkSnapshotDst refuses a destination that is the table's directory or
// lies inside it, where the copy would become a stray entry of the table.
func (t *core) checkSnapshotDst(dst string) error {
	if dst == "" {
		return fmt.Errorf("table: snapshot of %s: no destination directory", t.dir)
	}
	if fsutil.Inside(t.dir, dst) { // symbolic links resolved: either side may be one
		return fmt.Errorf("table: snapshot of %s: the destination %s lies inside the table's directory; name one outside it", t.dir, dst)
	}
	return nil
}

// snapshotManifest returns the manifest a snapshot copies: the table's,
// or on a reader the directory's, when a writer added columns since the
// reader opened (the one schema change made beside readers): a backup
// holds every column of the table.
func (t *core) snapshotManifest() (*persistence.Manifest, error) {
	if !t.opts.ReadOnly {
		return t.man, nil
	}
	m, err := readTableManifest(t.dir)
	if err != nil {
		return nil, err
	}
	if m.Hash() == t.man.Hash() {
		return t.man, nil
	}
	have := map[string]persistence.ColumnSpec{}
	for _, c := range m.Columns {
		have[c.Name] = c
	}
	for _, c := range t.man.Columns {
		n, ok := have[c.Name]
		if !ok || n.File != c.File || n.Kind != c.Kind || n.Layout.Size != c.Layout.Size || n.Layout.Fingerprint() != c.Layout.Fingerprint() {
			return nil, fmt.Errorf("%w: the table's schema changed since this reader opened (column %q); open the table again", ErrSchema, c.Name)
		}
	}
	if m.DataVersion != t.man.DataVersion {
		return nil, fmt.Errorf("%w: the table's data version changed since this reader opened; open the table again", ErrSchema)
	}
	return m, nil
}

// copyColumns gives each new column file in dir the table's first rows
// elements, in parallel: every column of manifest m, also those a reader
// of some columns does not map.
// A variable-length column's aux files get their extent's elements (a
// dictionary's bytes file, those of its entries).
func (t *core) copyColumns(dir string, m *persistence.Manifest, rows int, extent func(string) uint64) error {
	var errs []error
	var mu sync.Mutex
	var wg sync.WaitGroup
	copyFile := func(name string, l persistence.Layout, n int) {
		wg.Go(func() {
			err := copyColumn(filepath.Join(dir, name), l, t.opts.DataVersion, filepath.Join(t.dir, name), n)
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		})
	}
	for _, c := range m.Columns {
		copyFile(c.File, c.Layout, rows)
		aux, ls := c.AuxFiles(), auxLayouts(c.Kind)
		switch c.Kind {
		case persistence.KindString, persistence.KindBytes:
			copyFile(aux[0], ls[0], int(extent(c.Name)))
		case persistence.KindSymbol:
			n := int(extent(c.Name))
			end, err := dictEnd(filepath.Join(t.dir, aux[0]), n, t.opts.DataVersion)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			copyFile(aux[0], ls[0], n)
			copyFile(aux[1], ls[1], end)
		}
	}
	wg.Wait()
	return errors.Join(errs...)
}

// snapshotExtents returns each variable-length column's extent to copy:
// the one this handle maps, or, for a column a reader of some columns does
// not map, the one its file last published (at least what any published
// row points at: a writer publishes it first).
func (t *core) snapshotExtents(m *persistence.Manifest) func(string) uint64 {
	x := map[string]uint64{}
	for _, c := range m.Columns {
		if !c.Variable() {
			continue
		}
		if v := t.varByName(c.Name); v != nil {
			x[c.Name] = uint64(v.extent())
		} else if fx, err := colfile.ReadHeaderFacts(filepath.Join(t.dir, c.AuxFiles()[0])); err == nil && fx.Live >= 0 {
			x[c.Name] = uint64(fx.Live)
		}
	}
	return func(name string) uint64 { return x[name] }
}

// copyColumn gives the new column file path, which holds only its header,
// the first rows elements of the column file at src: blocks shared or
// copied past the header page, the file cut to exactly those rows, then
// its length set (syncColumns makes it durable). The source's header is
// not copied: it holds the source's own lengths, which a writer may be
// changing.
func copyColumn(path string, l persistence.Layout, dataVersion uint32, src string, rows int) error {
	n := int64(rows) * int64(l.Size)
	in, err := openTableFile(src, os.O_RDONLY)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := openTableFile(path, os.O_RDWR)
	if err != nil {
		return err
	}
	_, err = fsutil.CopyRange(out, in, headerPage, n)
	if err == nil {
		err = out.Truncate(headerPage + n)
	}
	if err = errors.Join(err, out.Close()); err != nil {
		return err
	}
	r, err := colfile.Open(path, l, &colfile.Options{Tag: columnTag, DataVersion: dataVersion})
	if err != nil {
		return err
	}
	return errors.Join(r.SetLen(rows), r.Close())
}

// syncColumns fdatasyncs the column files of the table built in dir, in
// parallel: the copies were not synced, so that a copy overlapped by a
// change in place cost no flush.
func syncColumns(dir string, m *persistence.Manifest) error {
	var files []string
	for _, c := range m.Columns {
		files = append(files, c.Files()...)
	}
	errs := make([]error, len(files))
	var wg sync.WaitGroup
	for i, name := range files {
		wg.Go(func() {
			f, err := openTableFile(filepath.Join(dir, name), os.O_RDWR)
			if err == nil {
				err = errors.Join(fsutil.DataSync(f), f.Close())
			}
			errs[i] = err
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}
