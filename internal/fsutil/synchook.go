//go:build unix

package fsutil

import (
	"os"
	"sync/atomic"
	"testing"
)

// syncHook, when set, is called after every successful [DataSync].
var syncHook atomic.Pointer[func(name string)]

// SetSyncHook installs fn, called with the file's name after every
// successful [DataSync] (from the goroutine that synced, so possibly from
// several at once); nil removes it. Power-loss tests use it to learn which
// files an fsync made durable: on a copy-on-write file system only those
// keep what was written to them. It panics outside test binaries: a user's
// program has no hooks.
func SetSyncHook(fn func(name string)) {
	if !testing.Testing() {
		panic("fsutil: SetSyncHook outside a test binary")
	}
	if fn == nil {
		syncHook.Store(nil)
		return
	}
	syncHook.Store(&fn)
}

// synced reports a successful sync of f to the hook, if any.
func synced(f *os.File) {
	if h := syncHook.Load(); h != nil {
		(*h)(f.Name())
	}
}
