//go:build unix && !linux

package lockfile

import "os"

// holderFromKernel is unknown off Linux; the pid written in the file is used.
func holderFromKernel(*os.File) int { return 0 }

// holdersFromKernel is unknown off Linux.
func holdersFromKernel(*os.File) []int { return nil }
