//go:build unix && !linux

package colfile

import (
	"github.com/mmapvec/persistence/internal/fsutil"
)

// mapNoReserve: PROT_NONE anonymous mappings cost no memory on the BSDs
// without it.
const mapNoReserve = 0

// allocate extends f with allocated blocks (fsutil.Allocate).
var allocate = fsutil.Allocate

// dataSync is os.File.Sync (F_FULLFSYNC on darwin).
var dataSync = fsutil.DataSync
