package colfile

import (
	"golang.org/x/sys/unix"

	"github.com/mmapvec/persistence/internal/fsutil"
)

const mapNoReserve = unix.MAP_NORESERVE

// allocate extends f with allocated blocks (fsutil.Allocate).
var allocate = fsutil.Allocate

// dataSync is fdatasync(2).
var dataSync = fsutil.DataSync
