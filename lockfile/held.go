//go:build unix

package lockfile

import (
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// fileID names a file independently of the path it was opened by.
type fileID struct{ dev, ino uint64 }

// held counts the locks this process holds, per file. flock locks belong to
// open file descriptions, so a second open of the same file in this process
// is refused like another process's; the count lets a refusal say that the
// holder is this very process, which no pid lookup can tell reliably (the
// pid written in a lock file may be stale, and only Linux lists holders).
var held struct {
	sync.Mutex
	n map[fileID]int
}

func idOf(f *os.File) (fileID, bool) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return fileID{}, false
	}
	return fileID{dev: uint64(st.Dev), ino: uint64(st.Ino)}, true // widths differ by OS
}

func hold(id fileID) {
	held.Lock()
	defer held.Unlock()
	if held.n == nil {
		held.n = map[fileID]int{}
	}
	held.n[id]++
}

func unhold(id fileID) {
	held.Lock()
	defer held.Unlock()
	if held.n[id]--; held.n[id] <= 0 {
		delete(held.n, id)
	}
}

func heldHere(id fileID) bool {
	held.Lock()
	defer held.Unlock()
	return held.n[id] > 0
}
