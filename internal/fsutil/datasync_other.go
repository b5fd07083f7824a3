//go:build unix && !linux

package fsutil

import "os"

// DataSync is os.File.Sync (F_FULLFSYNC on darwin) where fdatasync(2) is
// missing.
func DataSync(f *os.File) error {
	if err := f.Sync(); err != nil {
		return err
	}
	synced(f)
	return nil
}
