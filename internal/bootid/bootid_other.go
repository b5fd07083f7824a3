//go:build !linux

package bootid

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// system derives an id from the boot time, which changes with every boot.
func system() [16]byte {
	tv, err := unix.SysctlTimeval("kern.boottime")
	if err != nil {
		return [16]byte{}
	}
	return hash(fmt.Sprintf("boottime %d.%06d", tv.Sec, tv.Usec))
}
