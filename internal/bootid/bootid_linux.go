package bootid

import (
	"os"
	"strings"
)

func system() ID {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil || strings.TrimSpace(string(b)) == "" {
		return Unknown
	}
	return hash(string(b))
}
