//go:build unix

// Package crashpoint marks the steps of the library's write paths (append,
// grow, sync, commit, intent, recovery) so that crash tests can kill the
// process at exactly one of them.
//
// In test binaries (testing.Testing), it is driven by environment
// variables, read once at start-up:
//
//	PERSIST_CRASH_AT=N     SIGKILL the process at the N-th crash point reached (1-based)
//	PERSIST_CRASH_NAME=s   count only the points whose name is s (default: all points)
//	PERSIST_CRASH_LOG=f    append the name of every point reached to file f
//
// With none of them set, [Hit] costs one predictable branch. Tests can also
// install a Go callback with [SetHook].
//
// A program that is not a test binary ignores the variables and refuses
// SetHook: nothing in a user's binary can be made to kill itself or write a
// log by its environment.
package crashpoint

import (
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

var (
	enabled atomic.Bool
	mu      sync.Mutex
	crashAt int64 // 0: never
	only    string
	count   int64
	logFile *os.File
	hook    func(name string)
)

func init() {
	if !testing.Testing() {
		return
	}
	if n, err := strconv.ParseInt(os.Getenv("PERSIST_CRASH_AT"), 10, 64); err == nil && n > 0 {
		crashAt = n
		enabled.Store(true)
	}
	only = os.Getenv("PERSIST_CRASH_NAME")
	if path := os.Getenv("PERSIST_CRASH_LOG"); path != "" {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err == nil {
			logFile = f
			enabled.Store(true)
		}
	}
}

// Hit marks that the write path reached the step called name.
func Hit(name string) {
	if !enabled.Load() {
		return
	}
	hit(name)
}

func hit(name string) {
	mu.Lock()
	h := hook
	if logFile != nil {
		// One write per line: lines from a killed process are never torn.
		_, _ = logFile.WriteString(name + "\n")
	}
	kill := false
	if crashAt > 0 && (only == "" || only == name) {
		count++
		kill = count == crashAt
	}
	mu.Unlock()
	if h != nil {
		h(name)
	}
	if kill {
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		for { // SIGKILL ends the process; no select {}: the deadlock detector could end it first
			time.Sleep(time.Hour)
		}
	}
}

// SetHook installs fn to be called at every crash point (nil removes it).
// It is meant for in-process tests, e.g. to simulate power loss at a step.
// Points are reached from several goroutines at once (a table's columns
// flush in parallel), so fn must be safe for concurrent calls; and it may
// itself reach crash points (by opening a table, say).
func SetHook(fn func(name string)) {
	if !testing.Testing() {
		panic("crashpoint: SetHook outside a test binary")
	}
	mu.Lock()
	hook = fn
	mu.Unlock()
	enabled.Store(fn != nil || crashAt > 0 || logFile != nil)
}
