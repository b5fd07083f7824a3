package table

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCheckPermissionIsNotDamage: a file Check may not read is reported
// with fs.ErrPermission, not as ErrCorrupt (tests run as root, where no
// chmod denies a read, so the error is made here).
func TestCheckPermissionIsNotDamage(t *testing.T) {
	var r CheckReport
	denied := &os.PathError{Op: "open", Path: "x/COMMIT", Err: syscall.EACCES}
	r.fileProblem(commitFile, denied)
	r.fileProblem(walFile, errors.New("short read"))
	require.Len(t, r.Problems, 2)
	require.ErrorIs(t, r.Problems[0], fs.ErrPermission)
	require.NotErrorIs(t, r.Problems[0], ErrCorrupt)
	require.ErrorIs(t, r.Problems[1], ErrCorrupt)
	require.ErrorIs(t, r.Err(), fs.ErrPermission)
	require.ErrorIs(t, r.Err(), ErrCorrupt)
}
