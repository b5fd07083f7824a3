package main

import (
	"fmt"
	"os"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence/table"
)

// TestProblemKind: check --json names damage, an interrupted step and a
// file this user may not read apart.
func TestProblemKind(t *testing.T) {
	denied := &os.PathError{Op: "open", Path: "t/WAL", Err: syscall.EACCES}
	require.Equal(t, "permission", problemKind(denied))
	require.Equal(t, "corrupt", problemKind(fmt.Errorf("%w: bad", table.ErrCorrupt)))
	require.Equal(t, "corrupt", problemKind(fmt.Errorf("%w: %w", table.ErrCorrupt, denied)))
	require.Equal(t, "needs_recovery", problemKind(fmt.Errorf("%w: intent", table.ErrNeedsRecovery)))
}
