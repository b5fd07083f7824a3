//go:build unix && !linux

package bootid

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// system derives an id from the boot time, which changes with every boot.
func system() ID {
	tv, err := unix.SysctlTimeval("kern.boottime")
	if err != nil {
		return Unknown
	}
	return hash(fmt.Sprintf("boottime %d.%06d", tv.Sec, tv.Usec))
}
