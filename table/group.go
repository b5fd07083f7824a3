package table

import (
	"runtime"
	"runtime/debug"
	"sync"
)

// groupCommit lets many goroutines append and wait for durability together:
// one of them writes the log record for every row appended so far while the
// others append the next group (see [Table.AppendSync]).
type groupCommit struct {
	mu       sync.Mutex
	done     sync.Cond // broadcast when a flush ends
	flushing bool      // a goroutine is writing a record outside mu
	ticket   uint64    // appends so far
	durable  uint64    // appends made durable
}

// AppendSync appends rs and returns once they are durable, as if followed
// by [Table.Sync]. Unlike every other method, it may be called by many
// goroutines at once (with each other only): their rows are committed in
// groups, one log write and one flush for every row appended while the
// previous group was being flushed (group commit). The rows of one call are
// appended together, in order; rows of concurrent calls in any order.
//
// If a flush fails, every call waiting on it returns the error and the
// table is poisoned, as by a failed Sync.
func (t *Table[R]) AppendSync(rs ...R) (err error) {
	g := &t.group
	g.mu.Lock()
	defer g.mu.Unlock()
	// After the Unlock's defer, so that a fault poisons under the lock.
	defer t.guarded(debug.SetPanicOnFault(true), &err)
	if g.done.L == nil {
		g.done.L = &g.mu
	}
	if err := t.AppendRows(rs); err != nil {
		return err
	}
	g.ticket++
	mine := g.ticket
	for g.durable < mine {
		if t.poison != nil {
			return t.poison
		}
		if g.flushing {
			g.done.Wait()
			continue
		}
		if err := t.flushGroup(); err != nil {
			return err
		}
	}
	return nil
}

// flushGroup commits every row appended so far; mu is held, and released
// while the record is written, so that others append meanwhile.
func (t *core) flushGroup() error {
	g := &t.group
	g.flushing = true
	defer func() {
		g.flushing = false
		g.done.Broadcast()
	}()
	// The writers the last flush woke are about to append their next rows:
	// let them, so that those ride this flush rather than wait for the next
	// (alone, a writer finds nobody else to run and goes on at once).
	for range 2 {
		g.mu.Unlock()
		runtime.Gosched()
		g.mu.Lock()
	}
	upTo := g.ticket
	rec, ok := t.prepareLog(t.meta)
	if !ok {
		// A checkpoint flushes the column files that others would be
		// writing: it runs with the lock held.
		if err := t.checkpoint(t.meta); err != nil {
			return err
		}
		g.durable = upTo
		return nil
	}
	// prepareLog wrote into the shared encoder: the record is copied, so
	// that the next group can encode while this one is written.
	rec.buf = append([]byte(nil), rec.buf...)
	g.mu.Unlock()
	err := t.writeLog(rec)
	g.mu.Lock()
	if err := t.finishLog(rec, err); err != nil {
		return err
	}
	g.durable = upTo
	return nil
}
