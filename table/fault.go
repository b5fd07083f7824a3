package table

import (
	"fmt"
	"runtime/debug"
)

// Stores into a mapping can fault. On a copy-on-write file system (btrfs)
// every page rewritten after it reached the disk needs a new block, which
// the kernel finds when the page is first stored into again; on a full
// disk it finds none and raises SIGBUS, which would end the process. So
// the table's own stores run with debug.SetPanicOnFault: the fault becomes
// a panic that guarded turns into [ErrFault], and the table is poisoned
// (a row may be half written; the next open cuts or redoes it as after a
// crash). Append's fast path is not guarded (a deferred recover and two
// calls cost about as much as the Append; BenchmarkAppendGuard): on such
// file systems every Append takes the checked path instead (see cowFS).
// Stores through column slices are guarded inside Update, and are
// otherwise the caller's to guard the same way.

// guarded ends a call that stored into mappings; it is deferred as
//
//	defer t.guarded(debug.SetPanicOnFault(true), &err)
//
// and returns err as ErrFault after a fault. Any other panic goes on.
func (t *core) guarded(old bool, err *error) {
	debug.SetPanicOnFault(old)
	r := recover()
	if r == nil {
		return
	}
	*err = t.fail(faultError(faultAddr(r)))
	// A row may be half written. A change in place keeps the readers'
	// sequence count odd after a fault (endOwnInPlace, endInPlace); a
	// fault anywhere else leaves it as it was: odd now either way, so
	// that readers wait, and once this writer is gone find the files to
	// recover, instead of reading a torn row as consistent.
	if t.readers != nil {
		_ = faultless(t.readers.begin)
	}
}

// faultError says what a fault at addr means.
func faultError(addr uintptr) error {
	return fmt.Errorf("%w at %#x: the file system could not give a page of a table file (a full disk?)", ErrFault, addr)
}

// faultless runs store, which stores into a mapping, and returns a fault
// as ErrFault instead of ending the process, without poisoning anything:
// for the stores of steps that must go on after it (Close), and for Open,
// which has no table to poison yet.
func faultless(store func()) (err error) {
	defer func(old bool) {
		debug.SetPanicOnFault(old)
		if r := recover(); r != nil {
			err = faultError(faultAddr(r))
		}
	}(debug.SetPanicOnFault(true))
	store()
	return nil
}

// faultAddr returns the address of the fault that r, a recovered panic,
// reports; any other panic (a nil dereference is a bug) goes on.
func faultAddr(r any) uintptr {
	f, ok := r.(interface{ Addr() uintptr })
	if !ok || f.Addr() < 1<<16 {
		panic(r)
	}
	return f.Addr()
}
