package main

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// fullWriter is stdout on a full disk (persist info DIR > /dev/full).
type fullWriter struct{}

func (fullWriter) Write([]byte) (int, error) { return 0, syscall.ENOSPC }

// TestReportToFullStdout: a report that cannot be written fails the
// command. info and check once printed with fmt.Fprintf and dropped its
// error: `persist info DIR > /dev/full` printed nothing and exited 0.
func TestReportToFullStdout(t *testing.T) {
	dir := newTable(t)
	for _, args := range [][]string{
		{"head", dir}, {"tail", dir}, {"info", dir, "--json"}, {"check", dir, "--json"},
		{"info", dir}, {"check", dir},
	} {
		var errOut strings.Builder
		code := run(args, fullWriter{}, &errOut)
		require.NotEqual(t, 0, code, "persist %s with stdout on a full disk exits 0", strings.Join(args, " "))
		require.Contains(t, errOut.String(), "no space left", "persist %s", strings.Join(args, " "))
	}
}

// TestExportIntoTableDir: export writes nothing to the table, so an
// output path inside the table's directory (a slip of the path) is
// refused; such a file once made Check call the table damaged.
func TestExportIntoTableDir(t *testing.T) {
	dir := newTable(t)
	for _, out := range []string{"out.csv", "out.parquet", "parts"} {
		args := []string{"export", dir, filepath.Join(dir, out)}
		if out == "parts" {
			args = append(args, "-partition-by", "A")
		}
		code, _, errOut := runCLI(args...)
		require.Equal(t, 1, code, "persist export into %s", out)
		require.Contains(t, errOut, "inside the table's directory")
		code, _, errOut = runCLI("check", dir)
		require.Equal(t, 0, code, "persist export %s made the table fail check: %s", out, errOut)
	}
}
