package table

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"syscall"

	"github.com/mmapvec/persistence"
	"github.com/mmapvec/persistence/internal/colset"
	"github.com/mmapvec/persistence/internal/crashpoint"
	"github.com/mmapvec/persistence/internal/errs"
	"github.com/mmapvec/persistence/internal/fsutil"
)

// The commit path. A Sync is logged or checkpointed:
//
//   - logged: one record in WAL holds the elements written since the last
//     Sync (the rows appended, the rows changed in place, the values and
//     dictionary entries added) and the state after it; one pwrite and one
//     fdatasync of WAL make it durable. The column files are not flushed.
//   - checkpointed: every column file is flushed, then COMMIT is written and
//     flushed, as before the log existed; the records are then spent and the
//     log starts again. A Sync whose record would be large, a full log, the
//     first Sync of an open that did not create the table, Close after a
//     logged Sync, and every operation that rewrites files checkpoint.
//
// After a power cut, Open takes COMMIT and applies the records that follow
// it (wal_open.go). FORMAT.md, "WAL", has the layout and the routes weighed.

// Limits of the logged path: a record past maxLogged bytes, or more rows
// changed in place than maxDirty, is checkpointed instead (writing the
// columns once costs less than writing them twice).
const (
	maxLogged = 2 << 20
	maxDirty  = 1 << 14
)

// Sync commits the table: every row is durable against an OS crash or
// power loss once it returns nil. A small Sync costs one write and one
// fdatasync of the log; a large one flushes every column (see the package
// doc, "Durability").
//
// If Sync fails, nothing since the last successful Sync is durable and the
// table is poisoned: every later call returns [ErrPoisoned] until it is
// closed and reopened. The flush is never retried, because after a failed
// fsync the kernel may already have dropped the dirty pages.
func (t *core) Sync() (err error) {
	defer t.guarded(debug.SetPanicOnFault(true), &err)
	if err := t.check(true); err != nil {
		return err
	}
	return t.commitNow(nil, false)
}

// SyncMeta is [Table.Sync] that also commits meta, a small blob of the
// caller's (an ECS tick, the next entity id, an ingest offset; at most
// [MaxSyncMeta] bytes, else [ErrTooLarge]), atomically with the rows: after any crash, [Table.Meta]
// returns the meta of the Sync whose rows the table holds. Later Syncs keep
// it until another SyncMeta replaces it.
//
// A SyncMeta fails as Sync does, with one exception: the meta is kept in
// the write-ahead log, and on a table whose log could not be made (a disk
// too full for even the smallest one), SyncMeta tries again and, if it
// still cannot, returns [ErrNoLog] having committed nothing, without
// poisoning the table.
func (t *core) SyncMeta(meta []byte) (err error) {
	defer t.guarded(debug.SetPanicOnFault(true), &err)
	if err := t.check(true); err != nil {
		return err
	}
	if len(meta) > MaxSyncMeta {
		return fmt.Errorf("%w: SyncMeta of %d bytes (at most %d)", errs.ErrTooLarge, len(meta), MaxSyncMeta)
	}
	return t.commitNow(meta, true)
}

// Meta returns a copy of the meta committed with the last Sync (by
// [Table.SyncMeta]), or nil if none was. After an open it is the meta of
// the Sync the table was recovered to.
//
// On a reader beside a writer (running when the reader opened, or opened
// since), it is the meta of the writer's latest Sync. A call reads the
// writer's COMMIT and log only when the writer returned a Sync since the
// reader's last call (the READERS page counts them), and then only the
// records logged since, unless the writer checkpointed. That is the meta of the rows a [Options.SyncedOnly] reader
// shows after its last [Table.Refresh], unless the writer synced again
// since (compare its Recovered().Rows, or Refresh again).
func (t *core) Meta() []byte {
	if t.opts.ReadOnly && t.readers != nil && t.set != nil {
		// The page counts a writer's Syncs (this version's, in this boot:
		// running, or closed with its last Sync in the files), or the
		// reader follows one that does not count them.
		key, counted := t.readers.syncKey()
		if w := t.writersMeta; counted && w.counted && w.key == key {
			return slices.Clone(w.meta)
		}
		if !counted && t.recovery.Source != SourcePublished {
			return t.ownMeta()
		}
		if w, err := t.readWritersMeta(); err == nil {
			w.counted, w.key = counted, key
			t.writersMeta = w
			return slices.Clone(w.meta)
		}
	}
	return t.ownMeta()
}

// ownMeta is a copy of the meta the table opened with or last synced.
func (t *core) ownMeta() []byte {
	if len(t.meta) == 0 {
		return nil
	}
	return slices.Clone(t.meta)
}

// writersMeta is what a reader last read of its running writer's meta:
// the meta of the writer's latest Sync, the page's key of that Sync
// (readersPage.syncKey, read before the files), and where the read of the
// log ended, so that the next read of the same log past the same commit
// starts there.
type writersMeta struct {
	meta    []byte
	counted bool      // key identifies the Sync
	key     [3]uint64 // the writer's pid, epoch and count of Syncs
	commit  uint64    // COMMIT's sequence number; 0 before a read
	log     os.FileInfo
	end     int64  // the offset past the last record read
	next    uint64 // the number of the record due at end
	// The manifest the files were read for: the reader's own, or a later
	// one that the directory holds (see readWritersMeta).
	man  *persistence.Manifest
	hash uint64
}

// readWritersMeta reads the meta of the latest Sync of the table's running
// writer: COMMIT, then the log's chain past it. A checkpoint that lands
// between the two reads moves COMMIT on, and the read starts again.
//
// A writer may have opened the table with a schema change since the reader
// opened (an added column does not wait for readers): its COMMIT and log
// are written for the manifest in the directory, which is read then.
func (t *core) readWritersMeta() (writersMeta, error) {
	m, hash := t.man, t.hash
	if t.writersMeta.man != nil {
		m, hash = t.writersMeta.man, t.writersMeta.hash
	}
	w, err := t.readMetaFor(m, hash)
	if err == nil {
		return w, nil
	}
	now, rerr := readTableManifest(t.dir)
	if rerr != nil || now.Hash() == hash {
		return writersMeta{}, err
	}
	return t.readMetaFor(now, now.Hash())
}

// readMetaFor is readWritersMeta with the files read for manifest m.
func (t *core) readMetaFor(m *persistence.Manifest, hash uint64) (writersMeta, error) {
	path := filepath.Join(t.dir, commitFile)
	for range 8 {
		slot, _, _, err := readCommit(path, m, hash)
		if err != nil {
			return writersMeta{}, err
		}
		w, err := t.followLog(slot.seq, m, hash)
		if err != nil {
			return writersMeta{}, err
		}
		again, _, _, err := readCommit(path, m, hash)
		if err == nil && again.seq == slot.seq {
			return w, nil
		}
	}
	return writersMeta{}, fmt.Errorf("table: %s: COMMIT kept changing", t.dir)
}

// followLog reads the chain of the log past the commit seq: from where the
// last read ended if that read followed the same commit in the same file
// (a writer appends records, and starts the chain over only at a
// checkpoint, which moves COMMIT on, or in a new file), else from the
// start.
func (t *core) followLog(seq uint64, m *persistence.Manifest, hash uint64) (writersMeta, error) {
	prev := t.writersMeta
	f, fi, err := openLog(t.dir, os.O_RDONLY)
	if err != nil || f == nil {
		return writersMeta{commit: seq, end: walRecordsAt, next: seq + 1, man: m, hash: hash}, err
	}
	defer f.Close()
	w := writersMeta{commit: seq, log: fi, man: m, hash: hash}
	sizes, _ := walElemSizes(m)
	if prev.commit == seq && prev.hash == hash && prev.log != nil && os.SameFile(prev.log, fi) {
		w.meta, w.next = prev.meta, prev.next
		w.end, err = walkRecords(ne, f, fi.Size(), prev.end, prev.next, hash, sizes, func(r walRecord) {
			w.meta, w.next = r.meta, r.seq+1
		})
		return w, err
	}
	c, err := scanWAL(ne, f, fi.Size(), seq, hash, sizes)
	w.meta, w.end, w.next = c.meta, int64(c.end), seq+uint64(len(c.records))+1
	return w, err
}

// commitNow is a Sync from the goroutine that owns the table: log or
// checkpoint, at once.
func (t *core) commitNow(meta []byte, setMeta bool) error {
	if setMeta {
		meta = slices.Clone(meta)
	} else {
		meta = t.meta
	}
	rec, ok := t.prepareLog(meta)
	if !ok {
		return t.checkpoint(meta)
	}
	return t.finishLog(rec, t.writeLog(rec))
}

// loggedSync is a record about to be written, and the state it commits.
type loggedSync struct {
	buf  []byte
	seq  uint64
	rows int
	lens []int
	meta []byte
	off  int
}

// prepareLog builds the record of a logged Sync into t.enc's buffer; ok is
// false when this Sync must be a checkpoint.
func (t *core) prepareLog(meta []byte) (loggedSync, bool) {
	if t.checkpointNext || t.dirtyAll || t.synced == nil {
		return loggedSync{}, false
	}
	rows := t.rows
	lens := make([]int, len(t.walFiles))
	size := 0
	for i, f := range t.walFiles {
		lens[i] = f.Len()
		if lens[i] < t.synced[i] && !t.isElemFile(i) {
			return loggedSync{}, false // a heap that shrank: not an append
		}
		size += (lens[i] - min(t.synced[i], lens[i])) * f.ElemSize()
	}
	size += len(t.dirty) * t.rowBytes()
	if size > maxLogged {
		return loggedSync{}, false
	}
	hdr := make([]uint64, len(lens))
	for i, l := range lens {
		hdr[i] = uint64(l)
	}
	t.enc.buf = t.enc.buf[:0]
	t.enc.begin(t.seq+1, t.hash, uint64(rows), hdr, meta)
	low := min(t.syncedRows, rows)
	slices.Sort(t.dirty)
	for i, f := range t.walFiles {
		if t.viewedFile[i] {
			continue // flushed whole: slices may have written anywhere
		}
		from := min(t.synced[i], lens[i])
		if t.isElemFile(i) {
			from = low
			for j := 0; j < len(t.dirty); {
				// Runs of consecutive rows changed in place below low.
				a := t.dirty[j]
				if a >= low {
					break
				}
				b := a + 1
				for j++; j < len(t.dirty) && t.dirty[j] <= b && t.dirty[j] < low; j++ {
					b = max(b, t.dirty[j]+1)
				}
				t.enc.add(i, uint64(a), uint64(b-a), fileElems(f, a, b-a))
			}
		}
		if lens[i] > from {
			t.enc.add(i, uint64(from), uint64(lens[i]-from), fileElems(f, from, lens[i]-from))
		}
	}
	buf := t.enc.end()
	if t.wal == nil && !t.walFailed && len(buf) <= t.logSize()-walRecordsAt && t.makeWAL() != nil {
		// A checkpoint needs no log; writing megabytes of zeros again at
		// every Sync of a full disk would only slow it.
		t.walFailed = true
		return loggedSync{}, false
	}
	if t.wal == nil || t.walOff+len(buf) > t.walSize {
		return loggedSync{}, false
	}
	return loggedSync{buf: buf, seq: t.seq + 1, rows: rows, lens: lens, meta: meta, off: t.walOff}, true
}

// writeLog flushes the files slices may have written (in parallel), then
// writes the record and flushes the log: data before commit, since the
// record claims those files' lengths without their bytes. It touches no
// field of the table: a group commit runs it while others append.
func (t *core) writeLog(rec loggedSync) error {
	if n := len(t.viewedFiles); n > 0 {
		errs := make(chan error, n)
		for _, f := range t.viewedFiles {
			go func() { errs <- f.Flush() }()
		}
		var err error
		for range n {
			err = errors.Join(err, <-errs)
		}
		if err != nil {
			return err
		}
	}
	crashpoint.Hit("table.sync.log")
	if _, err := t.wal.WriteAt(rec.buf, int64(rec.off)); err != nil {
		return err
	}
	crashpoint.Hit("table.sync.log.written")
	return fsutil.DataSync(t.wal)
}

// finishLog makes a written record the table's last Sync, or poisons the
// table if it failed.
func (t *core) finishLog(rec loggedSync, err error) error {
	if err != nil {
		return t.fail(err)
	}
	crashpoint.Hit("table.sync.done")
	t.seq, t.walOff, t.meta = rec.seq, rec.off+len(rec.buf), rec.meta
	t.synced, t.syncedRows = rec.lens, rec.rows
	t.logged++
	t.lastRows, t.lastLengths = rec.rows, t.commitLengthsOf(rec.rows, rec.lens)
	t.dirty = t.dirty[:0]
	t.readers.synced(rec.rows, t.seq)
	return nil
}

// checkpoint commits the table the way every Sync did before the log:
// the meta goes to the log's free meta slot, every file (the log's too) is
// flushed in parallel, then COMMIT is written and flushed. The log's
// records are then spent.
func (t *core) checkpoint(meta []byte) error {
	if err := t.checkpointAs(meta, t.rows, commitLengths(t.man, t.rows, t.extentOf)); err != nil {
		return err
	}
	t.checkpointNext = false
	t.markSynced()
	t.readers.synced(t.rows, t.seq)
	return nil
}

// checkpointAs writes the checkpoint of a table with rows rows and the
// COMMIT lengths given: the present state, or (at Close) the last Sync's.
func (t *core) checkpointAs(meta []byte, rows int, lengths []uint64) error {
	seq := t.seq + 1
	if t.wal == nil && meta != nil {
		// The meta lives in the log. Nothing is written yet, so a log that
		// cannot be made fails this commit alone: the table stays as of
		// its last Sync, and usable.
		if err := t.makeWAL(); err != nil {
			return fmt.Errorf("%w: %s: the log that holds the meta cannot be made: %w", ErrNoLog, t.dir, err)
		}
	}
	var walErr chan error
	if t.wal != nil {
		idx := 1 - t.walSlotIdx
		crashpoint.Hit("table.sync.meta")
		if _, err := t.wal.WriteAt(encodeWALSlot(idx, walSlot{seq: seq, hash: t.hash, meta: meta}), int64(idx*walSlotBytes)); err != nil {
			return t.fail(err)
		}
		t.walSlotIdx = idx
		walErr = make(chan error, 1)
		go func() { walErr <- fsutil.DataSync(t.wal) }()
	}
	crashpoint.Hit("table.sync.flush")
	err := t.set.Flush()
	if walErr != nil {
		err = errors.Join(err, <-walErr)
	}
	if err != nil {
		return t.fail(err)
	}
	crashpoint.Hit("table.sync.commit")
	idx := 1 - t.slotIdx
	s := commitSlot{seq: seq, rows: uint64(rows), hash: t.hash, lengths: lengths}
	t.slotBuf = encodeCommitInto(t.slotBuf, idx, s)
	if _, err := t.commit.WriteAt(t.slotBuf, int64(idx*slotBytes(len(lengths)))); err != nil {
		return t.fail(err)
	}
	crashpoint.Hit("table.sync.commit.written")
	if err := fsutil.DataSync(t.commit); err != nil {
		return t.fail(err)
	}
	crashpoint.Hit("table.sync.done")
	t.seq, t.slotIdx, t.meta = s.seq, idx, meta
	t.walOff, t.logged = walRecordsAt, 0
	t.lastRows, t.lastLengths = rows, slices.Clone(lengths)
	if t.wal != nil && t.walSize < walRecordsAt+MinLogSize {
		t.remakeShortLog()
	}
	return nil
}

// remakeShortLog replaces a log cut shorter than any this library makes
// (damage: it is read as if zeros followed, but holds no record, so every
// Sync would checkpoint) by one of the table's log size, right after a
// checkpoint spent its records (createWAL: the committed meta is in the
// new log before it is renamed into place).
func (t *core) remakeShortLog() {
	old := t.wal
	placed, err := t.createWAL()
	switch {
	case err == nil:
		_ = old.Close()
	case placed:
		// Renamed into place, but the directory's fsync failed: no record
		// may go to the old file (no longer the log) nor to the new one
		// (whose name a power cut may undo). Go on as a table whose log
		// could not be made: every Sync checkpoints.
		_ = old.Close()
		t.wal, t.walFailed = nil, true
	}
	// Otherwise (no room, say) the short log stays: correct, only slower.
}

// closeLog, at Close, makes the last Sync's state the columns' own: a
// checkpoint of it (not of rows appended since, which Close does not
// commit), so that the table's files alone describe it, for any tool and
// for a reader after a restart. Nothing to do when no Sync was logged
// since the last checkpoint.
func (t *core) closeLog() error {
	// An open that failed part way (a redo interrupted, by a fault say)
	// leaves nothing to commit: the next open recovers again.
	if !t.opened || t.logged == 0 || t.opts.ReadOnly || t.poison != nil || t.commit == nil || t.set == nil {
		return nil
	}
	if err := t.checkpointAs(t.meta, t.lastRows, t.lastLengths); err != nil {
		return err
	}
	t.readers.recommitted(t.seq)
	return nil
}

// sync commits by a checkpoint, for the operations that rewrite or copy
// files (schema changes, Compact, Migrate, Repair): they start from a table
// whose log is spent and whose files hold every row.
func (t *core) sync() error { return t.checkpoint(t.meta) }

// markSynced makes the present lengths the last Sync's: what the next
// logged Sync writes starts from them.
func (t *core) markSynced() {
	if t.walFiles == nil {
		return
	}
	t.synced = t.synced[:0]
	for _, f := range t.walFiles {
		t.synced = append(t.synced, f.Len())
	}
	t.syncedRows = t.rows
	t.dirty, t.dirtyAll = t.dirty[:0], false
}

// makeWAL is createWAL for a table that has no log.
func (t *core) makeWAL() error {
	_, err := t.createWAL()
	return err
}

// createWAL makes the log (makeFittingLog) and readies it for records.
// The committed meta, if any, is in its slot 0 before it is renamed into
// place, so that no instant lacks it. placed reports whether the new file
// was renamed into place, which it may have been even on an error.
func (t *core) createWAL() (placed bool, err error) {
	var first []byte
	if t.meta != nil {
		first = encodeWALSlot(0, walSlot{seq: t.seq, hash: t.hash, meta: t.meta})
	}
	f, size, placed, err := makeFittingLog(t.dir, t.logSize(), first)
	if err != nil {
		return placed, err
	}
	t.wal, t.walSize, t.walOff, t.walSlotIdx = f, size, walRecordsAt, 1
	if first != nil {
		t.walSlotIdx = 0 // the next checkpoint writes slot 1
	}
	return true, nil
}

// makeFittingLog makes the log of size bytes, or, where that does not fit
// (a full disk, a quota, a file size limit), the smallest log: it still
// holds the meta slots and small Syncs, and the log's size is its file's,
// so nothing else needs to know. It returns the size made.
func makeFittingLog(dir string, size int, first []byte) (*os.File, int, bool, error) {
	f, placed, err := makeLog(dir, size, first)
	if err != nil && !placed && noRoom(err) && size > walRecordsAt+MinLogSize {
		size = walRecordsAt + MinLogSize
		f, placed, err = makeLog(dir, size, first)
	}
	return f, size, placed, err
}

// noRoom reports whether err says a file could not grow: no space, a
// quota, or a file size limit.
func noRoom(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) || errors.Is(err, syscall.EFBIG)
}

// makeLog makes the log of the table in dir, of size bytes: preallocated
// and written with zeros, so that a logged Sync overwrites blocks that are
// already allocated and written (its fdatasync then has no metadata to
// commit), and made durable in the directory before any record depends on
// it. first, if not nil, is written at offset 0 (a meta slot the new log
// must hold from the instant it is in place). placed reports whether the
// file was renamed into place, which on an error means that the
// directory's fsync failed. The caller closes the file.
func makeLog(dir string, size int, first []byte) (f *os.File, placed bool, err error) {
	path := filepath.Join(dir, walFile)
	tmp := filepath.Join(dir, walTemp)
	_ = os.Remove(tmp)
	f, err = openTableFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL)
	if err != nil {
		return nil, false, err
	}
	err = fsutil.WriteZeros(f, 0, int64(size))
	if err == nil && first != nil {
		_, err = f.WriteAt(first, 0)
	}
	if err == nil {
		err = fsutil.DataSync(f)
	}
	if err == nil {
		crashpoint.Hit("table.wal.create")
		err = os.Rename(tmp, path)
		placed = err == nil
	}
	if err == nil {
		err = fsutil.SyncDir(dir)
	}
	if err != nil {
		_ = f.Close()
		if !placed {
			_ = os.Remove(tmp)
		}
		return nil, placed, fmt.Errorf("create %s: %w", path, err)
	}
	return f, true, nil
}

// logSize is the size of a log this table makes (logSizeOf).
func (t *core) logSize() int { return logSizeOf(t.opts) }

// logSizeOf is the size of a log made under o: its meta slots, then
// Options.LogSize bytes of records.
func logSizeOf(o Options) int {
	if o.LogSize > 0 {
		return walRecordsAt + o.LogSize
	}
	return walRecordsAt + DefaultLogSize
}

// commitLengthsOf returns the COMMIT lengths of a table with rows rows
// whose files (in the log's order) have the lengths lens.
func (t *core) commitLengthsOf(rows int, lens []int) []uint64 {
	l := make([]uint64, len(t.walFiles))
	for i, n := range lens {
		l[i] = uint64(n)
	}
	return chainCommit(t.man, walRecord{rows: uint64(rows), lens: l}, t.hash).lengths
}

// isElemFile reports whether walFiles[i] holds the rows' elements (a
// column file), rather than a heap or dictionary.
func (t *core) isElemFile(i int) bool { return t.walElemFile[i] }

// rowBytes is the size of a packed row.
func (t *core) rowBytes() int { return len(t.scratch) }

// changedInPlace notes that row i was rewritten since the last Sync: the
// next logged Sync writes it again.
func (t *core) changedInPlace(i int) {
	if i >= t.syncedRows || t.dirtyAll {
		return // logged with the appended rows, or by a checkpoint
	}
	if len(t.dirty) >= maxDirty {
		t.dirtyAll = true
		return
	}
	t.dirty = append(t.dirty, i)
}

// viewed notes that a writable view of column c was handed out: from the
// next Sync on (a checkpoint, which spends the records that hold the
// column's earlier rows), every Sync flushes its file whole instead of
// logging it, since slices may write anywhere in it.
func (t *core) viewed(c *colset.Column) {
	if t.opts.ReadOnly || c == nil {
		return
	}
	for i, f := range t.walFiles {
		if f == c.File() && !t.viewedFile[i] {
			t.viewedFile[i] = true
			t.viewedFiles = append(t.viewedFiles, f)
			t.checkpointNext = true
		}
	}
}

// removedFrom notes that the rows from n on were removed or moved since
// the last Sync: a logged Sync writes them all again from there.
func (t *core) removedFrom(n int) { t.syncedRows = min(t.syncedRows, n) }

func (t *core) fail(err error) error {
	t.poison = fmt.Errorf("%w: %s: %w", ErrPoisoned, t.dir, err)
	t.minCap = 0 // appends take the checked path, which returns the poison
	return t.poison
}
