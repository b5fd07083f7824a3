package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestExportIntoTableDirThroughSymlinkDotDot: export refuses an output
// path inside the table's directory (a file there makes Check call the
// table damaged: TestExportIntoTableDir), also one spelled "L/../t/..."
// where L is a symbolic link: the system takes "L/.." as the parent of L's
// target, where a path cleaned by text first takes it as the directory
// holding L, and once let such a path through.
func TestExportIntoTableDirThroughSymlinkDotDot(t *testing.T) {
	dir := newTable(t) // <tmp>/t
	base := filepath.Dir(dir)
	require.NoError(t, os.Mkdir(filepath.Join(base, "sub"), 0o755))
	link := filepath.Join(t.TempDir(), "link") // <other>/link -> <tmp>/sub
	require.NoError(t, os.Symlink(filepath.Join(base, "sub"), link))
	// Not filepath.Join, which cleans "link/.." away as a check by text would.
	out := link + "/../t/out.csv" // for the system, <tmp>/t/out.csv
	code, _, errOut := runCLI("export", dir, out)
	_, statErr := os.Stat(filepath.Join(dir, "out.csv"))
	ccode, _, cerr := runCLI("check", dir)
	require.Error(t, statErr, "persist export %s %s wrote into the table's directory (exit %d); check then exits %d: %s", dir, out, code, ccode, cerr)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "inside the table's directory")
}
