package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence/internal/bootid"
	"github.com/mmapvec/persistence/internal/colfile"
	"github.com/mmapvec/persistence/table"
)

type row struct {
	A int64
	B [2]float32 `persist:"b"`
}

func newTable(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "t")
	tb, err := table.Open[row](dir, nil)
	require.NoError(t, err)
	require.NoError(t, tb.AppendRows([]row{{A: 1}, {A: 2}, {A: 3}}))
	require.NoError(t, tb.Sync())
	require.NoError(t, tb.Close())
	return dir
}

func runCLI(args ...string) (int, string, string) {
	var out, errOut strings.Builder
	code := run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestInfoCheckRepair(t *testing.T) {
	dir := newTable(t)
	code, out, _ := runCLI("info", dir)
	require.Equal(t, 0, code)
	require.Contains(t, out, "rows      3")
	require.Contains(t, out, "[] float32@0/4 [2]*4", "column b's layout is listed")

	code, out, _ = runCLI("check", dir)
	require.Equal(t, 0, code)
	require.Contains(t, out, "ok")

	code, out, _ = runCLI("repair", dir)
	require.Equal(t, 0, code)
	require.Contains(t, out, "3 rows")
}

// A path that is no table, a plain file or a directory without a manifest,
// is said to be no table by every command that reads one.
func TestNotATable(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(file, []byte("x"), 0o644))
	for _, args := range [][]string{{"info"}, {"info", "--json"}, {"head"}, {"check"}, {"compact"}} {
		for path, says := range map[string]string{file: "is not a directory", dir: "has no manifest.json"} {
			code, _, errOut := runCLI(append([]string{args[0], path}, args[1:]...)...)
			require.Equal(t, 1, code, "%v %s", args, path)
			require.Contains(t, errOut, "not a table directory", "%v %s", args, path)
			if args[0] == "info" || path == dir {
				require.Contains(t, errOut, says, "%v %s", args, path)
			}
		}
	}
}

func TestCheckFindsDamage(t *testing.T) {
	dir := newTable(t)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "stray.txt"), []byte("x"), 0o644))
	code, _, errOut := runCLI("check", dir)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "stray.txt")

	f, err := os.OpenFile(filepath.Join(dir, "A.col"), os.O_RDWR, 0)
	require.NoError(t, err)
	_, err = f.WriteAt([]byte("XX"), 0)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	code, _, errOut = runCLI("check", dir)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "bad magic")
}

// TestCheckListsEachProblem: the check is the library's, and each problem
// it finds is listed with its file and numbers.
func TestCheckListsEachProblem(t *testing.T) {
	dir := newTable(t)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "stray.txt"), []byte("x"), 0o644))
	require.NoError(t, os.Truncate(filepath.Join(dir, "b.col"), 4096+8))
	code, out, errOut := runCLI("check", dir)
	require.Equal(t, 1, code)
	require.Contains(t, out, "3 rows (committed), 3 committed; 3 problems")
	require.Contains(t, errOut, "3 problem(s) in "+dir)
	require.Contains(t, errOut, "\n  stray.txt: persistence: corrupt: not one of the table's files")
	require.Contains(t, errOut, "\n  b.col: persistence: corrupt: live length 3, the file holds 1 elements")
	// seq 3: the logged Sync (2), then the checkpoint of Close.
	require.Contains(t, errOut, "\n  b.col: persistence: corrupt: COMMIT (seq 3) has 3 rows, the file holds 1 elements")
}

// TestRepairCommits: rows written without a Sync are committed by repair,
// so that they survive a reboot; check notes them before and not after.
func TestRepairCommits(t *testing.T) {
	dir := newTable(t)
	tb, err := table.Open[row](dir, nil)
	require.NoError(t, err)
	require.NoError(t, tb.AppendRows([]row{{A: 4}, {A: 5}}))
	require.NoError(t, tb.Close()) // no Sync
	code, out, _ := runCLI("check", dir)
	require.Equal(t, 0, code)
	require.Contains(t, out, "note: 2 rows written since the last Sync are not committed")

	code, out, errOut := runCLI("repair", dir)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "5 rows committed")
	code, out, _ = runCLI("check", dir)
	require.Equal(t, 0, code)
	require.NotContains(t, out, "not committed")

	bootid.Override("another boot")
	defer bootid.Override("")
	tb, err = table.Open[row](dir, &table.Options{ReadOnly: true})
	require.NoError(t, err)
	defer tb.Close()
	require.Equal(t, 5, tb.Len(), "after a reboot: %s", tb.Recovered())
	require.Equal(t, row{A: 5}, tb.Row(4))
}

func TestUsage(t *testing.T) {
	code, _, errOut := runCLI()
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "usage")
	code, _, _ = runCLI("frobnicate", t.TempDir())
	require.Equal(t, 2, code)
	code, _, _ = runCLI("check", filepath.Join(t.TempDir(), "missing"))
	require.Equal(t, 1, code)
	code, _, errOut = runCLI("head", t.TempDir(), "-x")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "flag provided but not defined: -x")
	code, _, errOut = runCLI("head", t.TempDir(), "-n", "-1")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "0 or more")
	code, _, errOut = runCLI("snapshot", t.TempDir())
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "snapshot takes SRC DST, got 1 argument(s)")
}

// TestHelp: -h, --help and help print the usage on stdout and succeed,
// after a command too.
func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"--help"}, {"help"}, {"head", "-h"}, {"check", "DIR", "--help"}} {
		code, out, errOut := runCLI(args...)
		require.Equal(t, 0, code, "%q", args)
		require.Empty(t, errOut)
		require.Contains(t, out, "usage: persist <command>")
		for _, cmd := range []string{"info DIR [--json]", "head DIR [-n N]", "tail DIR [-n N]", "check DIR [--json]",
			"export DIR FILE [-format F] [-compression C] [-partition-by COLUMN]", "import DIR FILE [-format F] [-batch N]",
			"sql QUERY NAME=DIR... [--csv]", "snapshot SRC DST", "repair DIR", "drop DIR COLUMN... [-wait D]", "rename DIR OLD NEW [-wait D]", "convert SRC DST"} {
			require.Contains(t, out, "\n  "+cmd+"\n", "the usage lists %s", cmd)
		}
	}
	code, out, _ := runBinary(t, "--help")
	require.Equal(t, 0, code)
	require.Contains(t, out, "usage: persist <command>")
}

func TestConvertGolden(t *testing.T) {
	src := filepath.Join("..", "..", "table", "testdata", "golden", "table-"+colfile.ForeignOrder())
	dst := filepath.Join(t.TempDir(), "native")
	code, out, errOut := runCLI("convert", src, dst)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "converted 100 rows")
	code, out, _ = runCLI("check", dst)
	require.Equal(t, 0, code)
	require.Contains(t, out, "100 rows")
	code, _, errOut = runCLI("convert", dst, filepath.Join(t.TempDir(), "again"))
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "nothing to convert")
	code, _, _ = runCLI("convert", src)
	require.Equal(t, 2, code)
}
