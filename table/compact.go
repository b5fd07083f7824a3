package table

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"

	"github.com/mmapvec/persistence"
	"github.com/mmapvec/persistence/internal/colfile"
	"github.com/mmapvec/persistence/internal/crashpoint"
	"github.com/mmapvec/persistence/internal/fsutil"
	"github.com/mmapvec/persistence/internal/varcol"
)

// Compact gives back the disk space the table holds beyond its rows: the
// bytes of string and []byte values that no row points at any more (left by
// SetRow, SwapRemove, Truncate, Delete and DeleteFunc, which never
// overwrite a value a commit may hold), and the spare capacity of every
// file (growth allocates ahead, and no operation shrinks a file: a reader
// in another process may map it). A Symbol column's dictionary keeps every
// entry, so codes never change.
//
// Compact syncs first, so every row is committed. It rewrites the string
// and bytes columns that hold garbage aside and switches to them as a
// schema change does (the SCHEMA record and COMMIT.next: a crash leaves
// the table as before or after, and the next writable open finishes it),
// then cuts every file to its contents. It waits for readers in other
// processes (up to [Options.LockTimeout]) and otherwise fails with a
// [*ReadersError] naming them.
//
// Like Close and Open, it maps every file again: column views, slices and
// strings taken from views before it must not be used after it; take them
// again. A table opened as [Any] may be compacted (persist compact does).
func (t *core) Compact() (err error) {
	defer t.guarded(debug.SetPanicOnFault(true), &err)
	if err := t.check(false); err != nil {
		return err
	}
	if t.opts.ReadOnly {
		return fmt.Errorf("%w: %s", ErrReadOnly, t.dir)
	}
	if !t.noReaders {
		x, err := excludeReaders(t.dir, t.opts.LockTimeout)
		if err != nil {
			return err
		}
		defer x.release()
	}
	if err := t.sync(); err != nil {
		return err
	}
	if err := t.compact(); err != nil {
		return t.fail(fmt.Errorf("compact: %w", err))
	}
	return nil
}

// compact is Compact once readers are excluded and the rows committed.
func (t *core) compact() error {
	rows := t.rows
	extents := map[string]uint64{}
	var rec schemaRecord
	for i := range t.vars {
		v := &t.vars[i]
		extents[v.spec.Name] = uint64(v.extent())
		if v.heap == nil {
			continue
		}
		spans := varcol.Spans(v.col.File(), rows)
		live := liveBytes(spans)
		if uint64(v.heap.Len()) == live {
			continue // no garbage: only the capacity goes
		}
		if err := buildCompacted(t.dir, v, rows, spans, live, t.opts.DataVersion); err != nil {
			rollbackSchema(t.dir, rec)
			return fmt.Errorf("column %q: %w", v.spec.Name, err)
		}
		rec.Prepared = append(rec.Prepared, v.spec.Files()...)
		extents[v.spec.Name] = live
		crashpoint.Hit("table.compact.build")
	}
	sizes := t.compactedSizes(rows, extents)
	if len(rec.Prepared) > 0 {
		// The rebuilt columns switch as a schema change's prepared files
		// do, under a record of the same manifest: written last, once
		// every file is durable, it is what makes the next open finish.
		rec.Target = t.hash
		lengths := commitLengths(t.man, rows, func(name string) uint64 { return extents[name] })
		err := writeCommitNext(t.dir, lengths, rows, t.seq, t.hash)
		if err == nil {
			err = fsutil.SyncDir(t.dir)
		}
		if err == nil {
			crashpoint.Hit("table.compact.record")
			err = rec.write(t.dir)
		}
		if err != nil {
			rollbackSchema(t.dir, rec)
			return err
		}
		crashpoint.Hit("table.compact.switch")
	}
	recovery := t.recovery
	if err := t.closeFiles(); err != nil {
		return err
	}
	if len(rec.Prepared) > 0 {
		if err := finishSchema(t.dir, rec); err != nil {
			return err
		}
	}
	// Every file down to what it holds: a crash part way leaves some files
	// longer, which is only spare capacity.
	for path, size := range sizes {
		crashpoint.Hit("table.compact.cut")
		if err := os.Truncate(path, size); err != nil {
			return err
		}
	}
	if err := t.reopen(); err != nil {
		return err
	}
	t.recovery = recovery
	return nil
}

// reopen opens the table's files again under the lock it holds.
func (t *core) reopen() error {
	cols, rowSize := t.schema.cols, int(t.rowType.Size())
	if t.untyped {
		cols, rowSize = t.man.Columns, 0
	}
	return t.reopenAs(t.man, cols, rowSize)
}

// reopenAs opens the columns again, after closeFiles, under manifest man:
// the closed set, variable-length columns and codec go first, so that
// nothing of them is taken for the new ones.
func (t *core) reopenAs(man *persistence.Manifest, cols []persistence.ColumnSpec, rowSize int) error {
	t.set, t.vars, t.rc = nil, nil, t.bindCodec(nil, nil, nil)
	return t.openColumns(man, cols, rowSize)
}

// liveBytes is the summed length of the values that spans point at.
func liveBytes(spans []varcol.Span) uint64 {
	var n uint64
	for _, s := range spans {
		if s.End > s.Start {
			n += s.End - s.Start
		}
	}
	return n
}

// compactedSizes returns the size each of the table's files is cut to:
// its header and the elements it holds (rows, or its column's extent; a
// rebuilt column's files are cut under their final names).
func (t *core) compactedSizes(rows int, extents map[string]uint64) map[string]int64 {
	sizes := map[string]int64{}
	for _, c := range t.man.Columns {
		sizes[filepath.Join(t.dir, c.File)] = headerPage + int64(rows)*int64(c.Layout.Size)
		aux := c.AuxFiles()
		switch c.Kind {
		case persistence.KindString, persistence.KindBytes:
			sizes[filepath.Join(t.dir, aux[0])] = headerPage + int64(extents[c.Name])
		case persistence.KindSymbol:
			v := t.varByName(c.Name)
			offs, bytes := v.dict.Files()
			sizes[filepath.Join(t.dir, aux[0])] = headerPage + int64(offs.Len())*8
			sizes[filepath.Join(t.dir, aux[1])] = headerPage + int64(bytes.Len())
		}
	}
	return sizes
}

func (t *core) varByName(name string) *varCol {
	for i := range t.vars {
		if t.vars[i].spec.Name == name {
			return &t.vars[i]
		}
	}
	return nil
}

// buildCompacted writes column v's rows again under its prepared names:
// each value's bytes back to back in row order (live bytes in all), and
// the spans to them; both durable when it returns.
func buildCompacted(dir string, v *varCol, rows int, spans []varcol.Span, live uint64, dataVersion uint32) error {
	files := v.spec.Files()
	open := func(name string, l persistence.Layout) (*colfile.File, error) {
		path := filepath.Join(dir, name+preparedSuffix)
		_ = os.Remove(path) // an earlier, interrupted compaction's
		return colfile.Open(path, l, &colfile.Options{Tag: columnTag, DataVersion: dataVersion, Create: true, NoDirSync: true})
	}
	elems, err := open(files[0], v.spec.Layout)
	if err != nil {
		return err
	}
	heap, err := open(files[1], varcol.ByteLayout)
	if err != nil {
		return errors.Join(err, elems.Close())
	}
	err = copyCompacted(elems, heap, v.heap, spans, int(live))
	if err == nil {
		err = errors.Join(elems.SetLen(rows), heap.SetLen(int(live)))
	}
	if err == nil {
		err = errors.Join(elems.Flush(), heap.Flush())
	}
	return errors.Join(err, elems.Close(), heap.Close())
}

// copyCompacted fills the new element and heap files from spans into the
// old heap, a block at a time.
func copyCompacted(elems, heap *colfile.File, old *varcol.Heap, spans []varcol.Span, live int) error {
	if err := elems.EnsureCap(len(spans)); err != nil {
		return err
	}
	if err := heap.EnsureCap(live); err != nil {
		return err
	}
	const block = 1 << 20
	buf := make([]byte, 0, block)
	flushed := 0 // heap bytes written
	out := make([]varcol.Span, 0, 4096)
	outAt := 0 // first row of out
	for i, s := range spans {
		b := old.Bytes(s)
		ns := varcol.Span{}
		if len(b) > 0 {
			if len(buf)+len(b) > block && len(buf) > 0 {
				if err := heap.WriteAt(buf, flushed); err != nil {
					return err
				}
				flushed += len(buf)
				buf = buf[:0]
			}
			start := flushed + len(buf)
			ns = varcol.Span{Start: uint64(start), End: uint64(start + len(b))}
			if len(b) > block {
				if err := heap.WriteAt(b, start); err != nil {
					return err
				}
				flushed += len(b)
			} else {
				buf = append(buf, b...)
			}
		}
		out = append(out, ns)
		if len(out) == cap(out) || i == len(spans)-1 {
			if err := elems.WriteAt(varcol.SpanBytes(out), outAt); err != nil {
				return err
			}
			outAt += len(out)
			out = out[:0]
		}
	}
	if len(buf) > 0 {
		return heap.WriteAt(buf, flushed)
	}
	return nil
}
