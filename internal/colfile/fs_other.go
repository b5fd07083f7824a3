//go:build unix && !linux

package colfile

import (
	"os"

	"github.com/mmapvec/persistence/internal/fsutil"
)

// mapNoReserve: PROT_NONE anonymous mappings cost no memory on the BSDs
// without it.
const mapNoReserve = 0

// allocate extends f by writing zeros: without fallocate(2) this is how a
// full disk shows up as an error now rather than a SIGBUS later.
func allocate(f *os.File, off, n int64) error { return writeZeros(f, off, n) }

// dataSync is os.File.Sync (F_FULLFSYNC on darwin).
var dataSync = fsutil.DataSync
