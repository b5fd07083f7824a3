//go:build unix

// Package bootid tells which boot of the kernel is running, so that a file
// can say whether its last writer ran in this boot (its page-cache stores are
// still there) or in an earlier one (only fsynced data survived).
//
// An id that cannot be read is [Unknown], and Unknown never matches anything,
// itself included: a file written where no boot id could be read trusts only
// what was synced, which is the safe side.
package bootid

import (
	"crypto/sha256"
	"os"
	"strings"
	"sync"
	"testing"
)

// ID identifies one boot of the kernel.
type ID [16]byte

// Unknown is the id of a boot that could not be identified.
var Unknown ID

var (
	once     sync.Once
	current  ID
	override *ID
	mu       sync.Mutex
)

// Current returns the running boot's id, or [Unknown] where the system offers
// none (a chroot or sandbox without /proc, a failing sysctl).
//
// In test binaries only (testing.Testing), PERSIST_BOOT_ID replaces it, so
// that crash tests can play a reboot in a child process. A program that
// links the library ignores the variable: a constant boot id would make
// every boot look the same and bring back rows that were never synced.
func Current() ID {
	mu.Lock()
	defer mu.Unlock()
	if override != nil {
		return *override
	}
	once.Do(func() {
		if s := os.Getenv("PERSIST_BOOT_ID"); s != "" && testing.Testing() {
			current = hash(s)
			return
		}
		current = system()
	})
	return current
}

// Same reports whether a and b name the same, known boot. [Unknown] is the
// same as nothing.
func Same(a, b ID) bool { return a == b && a != Unknown }

// Override makes [Current] return the id derived from s; "" restores the
// system's. It panics outside test binaries.
func Override(s string) {
	if !testing.Testing() {
		panic("bootid: Override outside a test binary")
	}
	mu.Lock()
	defer mu.Unlock()
	if s == "" {
		override = nil
		return
	}
	id := hash(s)
	override = &id
}

func hash(s string) ID {
	sum := sha256.Sum256([]byte(strings.TrimSpace(s)))
	return ID(sum[:16])
}

// OverrideID makes [Current] return id, [Unknown] included. It panics
// outside test binaries.
func OverrideID(id ID) {
	if !testing.Testing() {
		panic("bootid: OverrideID outside a test binary")
	}
	mu.Lock()
	defer mu.Unlock()
	override = &id
}
