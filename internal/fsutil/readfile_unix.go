//go:build unix

package fsutil

import "golang.org/x/sys/unix"

// openNoFollow makes an open refuse a final symlink and never block (on a
// FIFO); for a regular file O_NONBLOCK changes nothing.
const openNoFollow = unix.O_NOFOLLOW | unix.O_NONBLOCK
