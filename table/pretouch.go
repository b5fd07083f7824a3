package table

import (
	"runtime/debug"
	"slices"
	"sync/atomic"

	"github.com/mmapvec/persistence/internal/colfile"
)

// A writer faults in the pages just past its columns' ends from a goroutine
// of its own (Chronicle Queue's pretoucher), so that Append finds them
// resident and writable: the first store to a new page of a shared file
// mapping otherwise takes a page fault that costs as much as dozens of
// appends. The goroutine sleeps until the writer nudges it, which Append
// does from its checked path: the fast path's one comparison covers it, so
// the nudge costs Append nothing per row (no channel send, no atomic, no
// syscall), only a channel send every quarter window.
//
// Pages it touches past the rows hold zeros and are dirty: a Sync writes
// them back once, and Close leaves them as spare capacity. So the window
// starts at a few pages per column and doubles at every nudge up to its
// full size: a writer that syncs every few rows, whose Syncs would
// otherwise write back a whole window of zeros, keeps a small one, and a
// bulk appender reaches the full window within a few nudges.

const (
	// pretouchBudget bounds the bytes kept touched ahead, over all columns,
	// and pretouchMin and pretouchMax each column's share of it.
	pretouchBudget = 4 << 20
	pretouchMin    = 64 << 10
	pretouchMax    = 1 << 20
	// pretouchStart is each column's window at first.
	pretouchStart = 16 << 10
	// pretouchChunk is what one column is given before the next one's turn.
	pretouchChunk = 64 << 10
)

type pretoucher struct {
	files   []*colfile.File
	window  int          // rows to keep touched past the end; grows to full (writer's)
	full    int          // the window's full size, in rows
	rows    atomic.Int64 // the row count as of the last nudge
	target  atomic.Int64 // and the row up to which to touch
	next    int          // the row count at which the writer nudges next (writer's)
	wake    chan struct{}
	stop    chan struct{}
	done    chan struct{}
	touched []int        // per file, the element up to which pages are touched (goroutine's)
	reached atomic.Int64 // the least of touched after each pass, for tests
}

// startPretouch starts the pretoucher of a writer's columns, unless
// [Options.NoPretouch].
func (t *core) startPretouch() {
	if t.opts.NoPretouch || t.opts.ReadOnly || t.untyped || t.pre != nil {
		return
	}
	files := make([]*colfile.File, 0, len(t.set.Columns()))
	widest := 1
	for _, c := range t.set.Columns() {
		files = append(files, c.File())
		widest = max(widest, c.ElemSize())
	}
	if len(files) == 0 {
		return
	}
	per := min(max(pretouchBudget/len(files), pretouchMin), pretouchMax)
	p := &pretoucher{
		files:   files,
		window:  max(min(pretouchStart, per)/widest, 1),
		full:    max(per/widest, 1),
		wake:    make(chan struct{}, 1),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
		touched: make([]int, len(files)),
	}
	t.pre = p
	go p.run()
	p.nudge(t.rows)
}

// stopPretouch stops the pretoucher and waits for it: before any mapping
// is fenced (Close) or any file cut (Compact), where a touch would fault.
func (t *core) stopPretouch() {
	if t.pre == nil {
		return
	}
	close(t.pre.stop)
	<-t.pre.done
	t.pre = nil
}

// pretouchLimit is the row count at which Append must leave its fast path
// to nudge the pretoucher (no limit without one).
func (t *core) pretouchLimit() int {
	if t.pre == nil {
		return int(^uint(0) >> 1)
	}
	return t.pre.next
}

// nudge asks for the window past row n to be touched, without waiting.
func (p *pretoucher) nudge(n int) {
	p.next = n + max(p.window/4, 1)
	p.rows.Store(int64(n))
	p.target.Store(int64(n + p.window))
	p.window = min(2*p.window, p.full)
	select {
	case p.wake <- struct{}{}:
	default: // a nudge is pending: it will read the latest count
	}
}

func (p *pretoucher) run() {
	defer close(p.done)
	// A page the file system cannot give faults (fault.go): the goroutine
	// stops touching, and Append meets the fault itself, guarded or not.
	debug.SetPanicOnFault(true)
	defer func() {
		if r := recover(); r != nil {
			faultAddr(r)
		}
	}()
	for {
		select {
		case <-p.stop:
			return
		case <-p.wake:
		}
		// The columns a chunk at a time each, round robin, so that none
		// waits for the others' whole windows.
		n, target := int(p.rows.Load()), int(p.target.Load())
		for more := true; more; {
			more = false
			for i, f := range p.files {
				select {
				case <-p.stop:
					return
				default:
				}
				from := max(p.touched[i], n)
				to := min(from+max(pretouchChunk/f.ElemSize(), 1), target)
				if from >= to {
					continue
				}
				p.touched[i] = f.Touch(from, to)
				more = more || p.touched[i] == to
			}
		}
		p.reached.Store(int64(slices.Min(p.touched)))
	}
}

// fastLimit is the row count below which Append takes its fast path: the
// columns' capacity, or the next nudge of the pretoucher if it comes first.
func (t *core) fastLimit() int {
	if t.cow {
		return 0 // every Append takes the guarded, checked path (fault.go)
	}
	return min(t.fastCap(), t.pretouchLimit())
}
