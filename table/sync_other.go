//go:build !linux

package table

import "os"

func fdatasync(f *os.File) error { return f.Sync() }
