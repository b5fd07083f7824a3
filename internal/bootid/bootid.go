// Package bootid tells which boot of the kernel is running, so that a file
// can say whether its last writer ran in this boot (its page-cache stores are
// still there) or in an earlier one (only fsynced data survived).
package bootid

import (
	"crypto/sha256"
	"os"
	"strings"
	"sync"
)

var (
	once     sync.Once
	current  [16]byte
	override *[16]byte
	mu       sync.Mutex
)

// Current returns the running boot's id. Where the system offers none, it is
// all zeros, which never matches a file's: the conservative answer.
// PERSIST_BOOT_ID, when set, replaces it: crash tests use it to play a reboot.
func Current() [16]byte {
	mu.Lock()
	defer mu.Unlock()
	if override != nil {
		return *override
	}
	once.Do(func() {
		if s := os.Getenv("PERSIST_BOOT_ID"); s != "" {
			current = hash(s)
			return
		}
		current = system()
	})
	return current
}

// Override makes [Current] return the id derived from s; "" restores the
// system's. For tests.
func Override(s string) {
	mu.Lock()
	defer mu.Unlock()
	if s == "" {
		override = nil
		return
	}
	id := hash(s)
	override = &id
}

func hash(s string) [16]byte {
	sum := sha256.Sum256([]byte(strings.TrimSpace(s)))
	return [16]byte(sum[:16])
}
