package table

import (
	"errors"
	"fmt"
	"math/bits"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/mmapvec/persistence/internal/bootid"
	"github.com/mmapvec/persistence/internal/colfile"
	"github.com/mmapvec/persistence/internal/fsutil"
	"github.com/mmapvec/persistence/lockfile"
)

// The READERS file is what a writer shares with the readers of its table,
// in other processes or its own: one page that the writer maps read-write
// and each reader read-only, holding the row count the writer published
// and a sequence count of its in-place changes (QuestDB's _txn and LMDB's
// reader table play these parts). Each reader also holds a shared flock on
// the file, so that an operation that rewrites or removes files knows that
// readers have them mapped, and which pids (see [ReadersError]).
//
// Nothing in it is ever synced: the page describes the running boot, and a
// page written in another boot is ignored. Every word is 8-byte aligned and
// read and written atomically: the row count is stored last by each append
// (a release store after every column holds the rows), and the sequence
// count is odd while rows change in place, as a seqlock. FORMAT.md has the
// layout.
const (
	readersFile    = "READERS"
	readersMagic   = "PREADER1"
	readersVersion = 1
	readersSize    = 4096
)

// Offsets of the page's fields, in native byte order.
const (
	rdMagic     = 0  // readersMagic
	rdVersion   = 8  // uint32 readersVersion, then 4 zero bytes
	rdBoot      = 16 // the writer's boot id, 16 bytes
	rdPID       = 32 // the writer's pid
	rdEpoch     = 40 // how many writable opens published here in this boot
	rdSeq       = 48 // odd while the writer changes rows in place
	rdRows      = 56 // live word of the row count (every completed append)
	rdCommitted = 64 // live word of the row count at the last Sync
	rdState     = 72 // stateOpen or stateClosed
	rdSyncs     = 80 // Syncs the writer tagged at rdSyncsOf returned, plus one
	rdSyncsOf   = 88 // syncsTag of the writer rdSyncs counts for (an earlier writer version leaves it behind)
	rdCommitOf  = 96 // sequence number of the commit whose row count rdCommitted holds; 0 while it changes
)

const (
	stateOpen   = 1 // a writer has the table open
	stateClosed = 2 // the last writer closed it
)

// pubState is one consistent reading of the page.
type pubState struct {
	valid     bool // written by a writer of this boot
	seq       uint64
	rows      int
	committed int
	pid       int
	epoch     uint64
	state     uint64
}

// running reports whether the page is a running writer's.
func (st pubState) running() bool {
	return st.valid && st.state == stateOpen && writerAlive(st.pid)
}

// readersPage is a table's handle on its READERS file.
type readersPage struct {
	path   string
	f      *os.File
	buf    []byte         // the mapping; nil until the file is a whole page
	lock   *lockfile.Lock // a reader's shared flock; nil for the writer
	writer bool
	boot   bootid.ID
	fence  atomic.Uint64 // a reader's full barrier (see sync)
}

func (p *readersPage) word(off int) *uint64 { return (*uint64)(unsafe.Pointer(&p.buf[off])) }

func (p *readersPage) load(off int) uint64 { return atomic.LoadUint64(p.word(off)) }

func (p *readersPage) store(off int, v uint64) { atomic.StoreUint64(p.word(off), v) }

// openReadersWriter opens (creating it) the READERS file of a writer and
// maps it read-write. A file of another size, left by a crash while it was
// made or by anything else, is made one page: only the page is ever mapped,
// so no reader depends on more.
func openReadersWriter(dir string) (*readersPage, error) {
	p := &readersPage{path: filepath.Join(dir, readersFile), writer: true, boot: bootid.Current()}
	f, err := openTableFile(p.path, os.O_RDWR|os.O_CREATE)
	if err != nil {
		return nil, err
	}
	p.f = f
	fi, err := f.Stat()
	if err == nil && fi.Size() < readersSize {
		// Never shrunk below a page: a reader may have it mapped. The
		// blocks are allocated before the page is mapped, so that a full
		// disk is this error and not a SIGBUS at the first store.
		err = fsutil.Allocate(f, fi.Size(), readersSize-fi.Size())
	} else if err == nil {
		err = fsutil.FillHoles(f, 0, readersSize) // made sparse by an earlier version
	}
	if err == nil {
		p.buf, err = unix.Mmap(int(f.Fd()), 0, readersSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	}
	if err != nil {
		f.Close()
		return nil, &os.PathError{Op: "readers page", Path: p.path, Err: err}
	}
	return p, nil
}

// claim starts a writer's open: the page is made this writer's, and its
// sequence count goes odd (recovery may change rows in place). Readers
// wait for ready, and meanwhile keep what they saw. On a page of this
// boot the pid and state come first: a reader that sees the count odd
// must see a running writer, not the one before (gone, or closed), which
// it would take for a writer that died part way through a change.
func (p *readersPage) claim() {
	if p.thisBoot() {
		p.store(rdPID, uint64(os.Getpid()))
		p.store(rdState, stateOpen)
		p.store(rdEpoch, p.load(rdEpoch)+1)
		p.countSyncs()
		p.begin()
		return
	}
	// A new page, a foreign one, or one of another boot: readers of this
	// boot do not wait on it until the boot id, written last, makes it
	// this boot's, odd and a running writer's.
	p.begin()
	if !p.ours() {
		for off := rdBoot; off < readersSize; off += 8 {
			if off != rdSeq {
				p.store(off, 0)
			}
		}
		copy(p.buf[rdVersion:], []byte{0, 0, 0, 0, 0, 0, 0, 0})
		ne.PutUint32(p.buf[rdVersion:], readersVersion)
		copy(p.buf[rdMagic:], readersMagic)
	}
	p.store(rdPID, uint64(os.Getpid()))
	p.store(rdEpoch, 1)
	// Another boot's counts are not this boot's (an open that fails after
	// the boot id below would leave them as if they were).
	p.store(rdCommitOf, 0)
	p.store(rdCommitted, 0)
	p.store(rdRows, 0)
	p.countSyncs()
	p.store(rdState, stateOpen)
	p.store(rdBoot, ne.Uint64(p.boot[0:]))
	p.store(rdBoot+8, ne.Uint64(p.boot[8:]))
}

// ready ends a writer's open: the recovered counts are published and the
// sequence count goes even. A recovery that redid a removal may leave
// fewer rows than the last Sync: the Sync count is lowered to them, as
// lowerSynced does.
func (p *readersPage) ready(rows, committed int, seq uint64) {
	p.storeCommitted(min(committed, rows), seq)
	p.store(rdRows, colfile.LiveWord(rows))
	p.end()
}

// storeCommitted stores the row count of the commit numbered seq: the tag
// is 0 while the count changes, so that an open that finds the two
// (lastSynced) after a kill in between does not take one commit's count
// for another's.
func (p *readersPage) storeCommitted(rows int, seq uint64) {
	p.store(rdCommitOf, 0)
	p.store(rdCommitted, colfile.LiveWord(rows))
	p.store(rdCommitOf, seq)
}

// begin and end bracket a change of rows in place: odd in between.
//
// Both are atomic read-modify-writes of the count (the writer is its only
// writer), not stores: a store-release orders only what came before it,
// so on arm64 the row writes after an odd store could be seen before it.
// A read-modify-write is fully ordered (LOCK XADD on amd64, LDADDAL on
// arm64 with the LSE atomics), as the kernel's own seqlocks make theirs.
func (p *readersPage) begin() {
	if s := p.load(rdSeq); s&1 == 0 {
		atomic.AddUint64(p.word(rdSeq), 1)
	}
}

func (p *readersPage) end() {
	if s := p.load(rdSeq); s&1 == 1 {
		atomic.AddUint64(p.word(rdSeq), 1)
	} else {
		atomic.AddUint64(p.word(rdSeq), 2) // a claim of a page whose count was garbage
	}
}

// rowsWord is where appends publish the row count (colset.Set.PublishTo).
func (p *readersPage) rowsWord() *uint64 { return p.word(rdRows) }

// synced counts a Sync that returned, and publishes its row count. Its
// meta is in COMMIT or the log by now: a reader that sees the count reads
// that meta or a later one. The count goes first: a reader that shows the
// new rows (Refresh) and then asks for Meta must find the count moved, or
// it would keep the meta of the Sync before.
func (p *readersPage) synced(rows int, seq uint64) {
	p.store(rdSyncs, p.load(rdSyncs)+1)
	p.storeCommitted(rows, seq)
}

// recommitted tags the count of the last Sync (lowered by removals since)
// with the commit numbered seq, which committed that Sync's rows again (a
// checkpoint at Close).
func (p *readersPage) recommitted(seq uint64) {
	if p.load(rdCommitOf) != 0 {
		p.store(rdCommitOf, seq)
	}
}

// lastSynced returns the count of the last Sync that the page's writer of
// this boot left (lowered by its removals since, which COMMIT does not
// record), and the sequence number of the commit it belongs to, if the
// page is this boot's and holds both.
func (p *readersPage) lastSynced() (rows int, seq uint64, ok bool) {
	if p == nil || p.buf == nil || !p.thisBoot() {
		return 0, 0, false
	}
	seq = p.load(rdCommitOf)
	rows, ok = colfile.ParseLiveWord(p.load(rdCommitted))
	return rows, seq, ok && seq != 0 && p.load(rdCommitOf) == seq
}

// lowerSynced lowers the count of the last Sync to at most rows, after a
// removal: rows appended from there on are not synced ones.
func (p *readersPage) lowerSynced(rows int) {
	if c, ok := colfile.ParseLiveWord(p.load(rdCommitted)); !ok || c > rows {
		p.store(rdCommitted, colfile.LiveWord(rows))
	}
}

// countSyncs starts the count of a writer's Syncs, at its claim, after the
// epoch: rdSyncsOf last, so that a reader that finds it matching the
// epoch reads this writer's count.
func (p *readersPage) countSyncs() {
	p.store(rdSyncs, 1)
	p.store(rdSyncsOf, syncsTag(p.load(rdEpoch), p.boot))
}

// syncsTag names the writer whose Syncs rdSyncs counts: its epoch and its
// boot. A writer of an earlier version leaves the tag of the writer before
// it, and moves the epoch (in the same boot) or the boot id (in a later
// one, where epochs start at 1 again): the tag then no longer matches.
func syncsTag(epoch uint64, boot bootid.ID) uint64 {
	return epoch ^ ne.Uint64(boot[0:]) ^ bits.RotateLeft64(ne.Uint64(boot[8:]), 29)
}

// syncKey identifies the latest Sync of the page's writer: its pid, its
// epoch and the count of its Syncs. ok is false when the page tells no
// such thing: of another boot, or claimed last by a writer of an earlier
// version, which leaves the count of the one before it.
func (p *readersPage) syncKey() (key [3]uint64, ok bool) {
	if p.buf == nil || !p.thisBoot() {
		return key, false
	}
	e := p.load(rdEpoch)
	tag := p.load(rdSyncsOf)
	key = [3]uint64{p.load(rdPID), e, p.load(rdSyncs)}
	// A claim stores the epoch first and rdSyncsOf last: an unchanged
	// epoch that matches it means the pid and count read are its writer's.
	// (p.boot is the running boot, the page's own, as thisBoot checked.)
	return key, tag == syncsTag(e, p.boot) && p.load(rdEpoch) == e
}

func (p *readersPage) bootID() bootid.ID {
	var id bootid.ID
	ne.PutUint64(id[0:], p.load(rdBoot))
	ne.PutUint64(id[8:], p.load(rdBoot+8))
	return id
}

// openReadersReader opens a reader's READERS file and takes its shared
// flock, waiting up to timeout while an operation that rewrites files
// holds it exclusively. A missing file is fs.ErrNotExist: no writer of
// this format has opened the table yet.
func openReadersReader(dir string, timeout time.Duration) (*readersPage, error) {
	p := &readersPage{path: filepath.Join(dir, readersFile), boot: bootid.Current()}
	f, err := openTableFile(p.path, os.O_RDONLY)
	if err != nil {
		return nil, err
	}
	p.f = f
	if p.lock, err = lockfile.LockFile(f, &lockfile.Options{Shared: true, Timeout: timeout}); err != nil {
		f.Close()
		var le *lockfile.LockedError
		if errors.As(err, &le) {
			return nil, fmt.Errorf("table: %s: %w (an operation that rewrites the table's files, such as a repair, is running)", dir, err)
		}
		return nil, err
	}
	if err := p.mapReader(); err != nil {
		p.close()
		return nil, err
	}
	return p, nil
}

// mapReader maps the page once the file holds one (a writer creating the
// file sizes it right after).
func (p *readersPage) mapReader() error {
	if p.buf != nil {
		return nil
	}
	fi, err := p.f.Stat()
	if err != nil {
		return err
	}
	if fi.Size() < readersSize {
		return nil
	}
	buf, err := unix.Mmap(int(p.f.Fd()), 0, readersSize, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return &os.PathError{Op: "readers page", Path: p.path, Err: err}
	}
	p.buf = buf
	return nil
}

// errBusy is returned by read when the sequence count stayed odd until the
// deadline.
var errBusy = errors.New("busy")

// read takes one consistent reading of the page, waiting (until deadline)
// while the writer changes rows in place. A page that is not valid for
// this boot reads as not valid; one of this boot whose counts fail their
// check bits is damage.
func (p *readersPage) read(deadline time.Time) (pubState, error) {
	if err := p.mapReader(); err != nil || p.buf == nil {
		return pubState{}, err
	}
	for spin := 0; ; spin++ {
		st, ok := p.attempt()
		if ok {
			return p.checked(st)
		}
		pid := p.pid()
		// A writer that died or closed part way through a change never
		// ends it: no use waiting for the deadline.
		gone := spin >= 16 && spin%16 == 0 && (p.load(rdState) == stateClosed || !writerAlive(pid))
		if gone || time.Now().After(deadline) {
			return pubState{seq: st.seq, pid: pid}, errBusy
		}
		backoff(spin)
	}
}

// glance reads the page as it is, without waiting for a change in place to
// end: a check looks at the writer rather than waits for it. While the
// sequence count is odd the counts may be a claim's zeros (unknown, -1);
// a count that fails its check bits with the count even and unchanged
// around it is damage.
func (p *readersPage) glance() (pubState, error) {
	if err := p.mapReader(); err != nil || p.buf == nil {
		return pubState{}, err
	}
	st, ok := p.attempt()
	if !ok {
		return st, nil
	}
	return p.checked(st)
}

// attempt takes one seqlock reading of the page; ok when no change in
// place overlapped it: the count was even and did not move. A page that
// is not one of this boot (yet) has no count to wait on (a writer claiming
// it writes the boot id last), so only the move counts there.
func (p *readersPage) attempt() (pubState, bool) {
	s1 := p.load(rdSeq)
	st := p.decode()
	st.seq = s1
	p.sync()
	return st, (s1&1 == 0 || !st.valid) && p.load(rdSeq) == s1
}

// pid is the writer's pid, kept within an int of any size (a hostile word
// must not become a negative pid, which kill(2) takes for a group).
func (p *readersPage) pid() int { return int(min(p.load(rdPID), 1<<31-1)) }

// thisBoot reports whether the page is one, written in the running boot.
func (p *readersPage) thisBoot() bool { return p.ours() && bootid.Same(p.bootID(), p.boot) }

// ours reports whether the page has this format's magic and version.
func (p *readersPage) ours() bool {
	return string(p.buf[rdMagic:rdMagic+8]) == readersMagic && ne.Uint32(p.buf[rdVersion:]) == readersVersion
}

// decode reads the fields (within a seqlock read).
func (p *readersPage) decode() pubState {
	if !p.thisBoot() {
		return pubState{}
	}
	rows, ok1 := colfile.ParseLiveWord(p.load(rdRows))
	committed, ok2 := colfile.ParseLiveWord(p.load(rdCommitted))
	st := pubState{valid: true, rows: rows, committed: committed,
		pid: p.pid(), epoch: p.load(rdEpoch), state: p.load(rdState)}
	if !ok1 || !ok2 {
		st.rows, st.committed = -1, -1
	}
	return st
}

// checked refuses the counts of a running writer's page that fail their
// check bits; those of a page whose writer is gone are not used anyway.
func (p *readersPage) checked(st pubState) (pubState, error) {
	if st.valid && (st.rows < 0 || st.committed < 0) {
		if st.state == stateOpen && writerAlive(st.pid) {
			return pubState{}, fmt.Errorf("%w: %s: a published row count fails its check bits", ErrCorrupt, p.path)
		}
		return pubState{}, nil
	}
	return st, nil
}

// sync is a full barrier between a reader's loads of rows and its second
// load of the sequence count: an atomic read-modify-write of its own word
// orders every earlier load before every later one on every architecture
// (an acquire load alone lets earlier plain loads pass it on arm64).
func (p *readersPage) sync() { p.fence.Add(1) }

// seq is the sequence count now (0 without a page).
func (p *readersPage) seq() uint64 {
	if p == nil || p.buf == nil {
		return 0
	}
	return p.load(rdSeq)
}

// backoff waits a little longer each time: a writer's change in place
// takes microseconds, an Update as long as its func runs.
func backoff(spin int) {
	switch {
	case spin < 16:
		runtime.Gosched()
	default:
		time.Sleep(min(time.Duration(spin-15)*50*time.Microsecond, time.Millisecond))
	}
}

// closeWriter marks the table closed by its writer and unmaps the page.
func (p *readersPage) close() error {
	if p == nil {
		return nil
	}
	var errs []error
	if p.buf != nil {
		if p.writer {
			errs = append(errs, faultless(func() { p.store(rdState, stateClosed) }))
		}
		errs = append(errs, unix.Munmap(p.buf))
		p.buf = nil
	}
	if p.lock != nil {
		errs = append(errs, p.lock.Release())
	}
	if p.f != nil {
		errs = append(errs, p.f.Close())
	}
	return errors.Join(errs...)
}

// writerAlive reports whether pid names a running process (of this pid
// namespace): a writer that died part way through a change in place leaves
// the sequence count odd until the next writable open.
func writerAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := unix.Kill(pid, 0)
	return err == nil || err == unix.EPERM
}

// ReadersError is returned by an operation that must rewrite or remove a
// table's files (such as [Repair]) while readers have the table open. It
// matches [ErrReaders] and [ErrLocked].
type ReadersError struct {
	Dir  string
	PIDs []int // the readers' processes, as far as the system tells (Linux)
	// Waited is set when the operation waited for them (a lock timeout).
	Waited bool
}

func (e *ReadersError) Error() string {
	who := "readers have it open"
	if len(e.PIDs) > 0 {
		who = fmt.Sprintf("readers have it open (pids %v)", e.PIDs)
	}
	msg := fmt.Sprintf("table: %s: %s, and this operation rewrites files they map", e.Dir, who)
	if e.Waited {
		return msg + "; they did not close within the lock timeout"
	}
	return msg + "; close them, or retry with a lock timeout"
}

// Is makes errors.Is match ErrReaders and ErrLocked.
func (e *ReadersError) Is(target error) bool { return target == ErrReaders || target == ErrLocked }

// readersExcluded is an exclusive flock on the READERS file.
type readersExcluded struct {
	f    *os.File
	lock *lockfile.Lock
}

func (x *readersExcluded) release() error {
	return errors.Join(x.lock.Release(), x.f.Close())
}

// excludeReaders takes the READERS file's flock exclusively, for an
// operation that rewrites or removes files, waiting up to timeout for the
// readers to close; the writer's LOCK must be held already. Until it is
// released, new readers wait or are refused. The file is locked as it is,
// never written (a writer may have its page mapped).
func excludeReaders(dir string, timeout time.Duration) (*readersExcluded, error) {
	path := filepath.Join(dir, readersFile)
	f, err := openTableFile(path, os.O_RDWR|os.O_CREATE)
	if err != nil {
		return nil, fmt.Errorf("table: %s: %w", dir, err)
	}
	l, err := lockfile.LockFile(f, &lockfile.Options{Timeout: timeout})
	var le *lockfile.LockedError
	if errors.As(err, &le) {
		pids, _ := lockfile.Holders(path)
		f.Close()
		return nil, &ReadersError{Dir: dir, PIDs: pids, Waited: timeout > 0}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("table: %s: %w", dir, err)
	}
	return &readersExcluded{f: f, lock: l}, nil
}
