package bootid

import "os"

func system() [16]byte {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return [16]byte{}
	}
	return hash(string(b))
}
