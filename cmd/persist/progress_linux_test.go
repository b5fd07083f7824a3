package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence/internal/testproc"
)

// TestProgressOnATerminal runs export with its stdout on a terminal (a
// pseudo-terminal from util-linux's script): the bar is drawn, on stderr,
// and ends with the rows done; off a terminal nothing is drawn (see
// TestExportImportRoundTrips).
func TestProgressOnATerminal(t *testing.T) {
	scriptCmd, err := exec.LookPath("script")
	if err != nil {
		t.Skip("no script(1) to give the command a terminal")
	}
	src := newTrades(t, 200_000)
	file := filepath.Join(t.TempDir(), "t.csv")
	args, err := json.Marshal([]string{"export", src, file})
	require.NoError(t, err)
	typescript := filepath.Join(t.TempDir(), "typescript")
	cmd := exec.Command(scriptCmd, "-q", "-e", "-c", os.Args[0]+" -test.run=^$", typescript)
	cmd.Env = append(os.Environ(), testproc.RoleEnv+"=persist", cliArgsEnv+"="+string(args))
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Contains(t, string(out), "exported 200000 rows")
	require.Contains(t, string(out), "exporting")
	require.True(t, strings.Contains(string(out), "rows/s") || strings.Contains(string(out), "200000/200000"), "%q", out)
}
