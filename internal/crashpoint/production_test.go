package crashpoint_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence/internal/bootid"
	"github.com/mmapvec/persistence/table"
)

type row struct {
	ID  int64
	Val float64
}

// A program that is not a test binary ignores the test-only variables: it
// never kills itself at a crash point, writes no crash log, and records the
// real boot id (a constant one would make every boot look the same).
func TestProductionBuildIgnoresHooks(t *testing.T) {
	if os.Getenv("PERSIST_TEST_EXEC") != "" || runtime.GOOS != "linux" {
		t.Skip("builds and runs a native program")
	}
	if bootid.Current() == bootid.Unknown {
		t.Skip("this system offers no boot id to compare with")
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "prodapp")
	build := exec.Command("go", "build", "-o", bin, "./testdata/prodapp")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build: %s", out)

	dir := filepath.Join(tmp, "table")
	crashLog := filepath.Join(tmp, "crash.log")
	const rows = 5000
	cmd := exec.Command(bin, dir, "5000")
	cmd.Env = append(os.Environ(),
		"PERSIST_CRASH_AT=1", "PERSIST_CRASH_LOG="+crashLog, "PERSIST_BOOT_ID=the-same-every-boot")
	out, err = cmd.CombinedOutput()
	require.NoError(t, err, "the program must not kill itself at a crash point: %s", out)
	require.Equal(t, "appended 5000\n", string(out))
	require.NoFileExists(t, crashLog, "no crash log outside test binaries")

	id := bootid.Current()
	for _, col := range []string{"ID.col", "Val.col"} {
		b, err := os.ReadFile(filepath.Join(dir, col))
		require.NoError(t, err)
		require.True(t, bytes.Equal(b[48:64], id[:]), "%s records the real boot id, not PERSIST_BOOT_ID's", col)
	}
	tb, err := table.Open[row](dir, &table.Options{ReadOnly: true})
	require.NoError(t, err)
	defer tb.Close()
	require.Equal(t, rows, tb.Len(), "every acknowledged row is kept")
	require.Equal(t, row{ID: 0, Val: -1}, tb.Row(0))
	require.Equal(t, row{ID: rows - 1, Val: float64(rows-1) / 2}, tb.Row(rows-1))
}
