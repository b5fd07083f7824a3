package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence/internal/colfile"
	"github.com/mmapvec/persistence/internal/testproc"
	"github.com/mmapvec/persistence/table"
)

// The test binary plays the command (role "persist", its arguments in
// cliArgsEnv as JSON), a writer that keeps a table busy (role "writer")
// and a reader that holds a table open (role "reader").
const cliArgsEnv = "PERSIST_TEST_CLI_ARGS"

func TestMain(m *testing.M) {
	switch testproc.Role() {
	case "persist":
		var args []string
		if err := json.Unmarshal([]byte(os.Getenv(cliArgsEnv)), &args); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		main0(args)
	case "writer":
		busyWriter(os.Getenv("PERSIST_TEST_DIR"), os.Getenv("PERSIST_TEST_INPLACE") != "")
	case "reader":
		idleReader(os.Getenv("PERSIST_TEST_DIR"))
	}
	os.Exit(m.Run())
}

// main0 is main with its arguments given.
func main0(args []string) {
	os.Args = append([]string{"persist"}, args...)
	main()
}

// runBinary runs the command as its own process and returns its exit
// status, stdout and stderr.
func runBinary(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	b, err := json.Marshal(args)
	require.NoError(t, err)
	c := testproc.Start(t, "", "persist", cliArgsEnv+"="+string(b))
	code := c.Wait()
	out := strings.Join(c.Lines(), "\n")
	if out != "" {
		out += "\n"
	}
	return code, out, c.Stderr()
}

// liveRow is a row whose fields all derive from one number, so that a row
// shown half before and half after a SetRow is seen.
type liveRow struct {
	N    int64
	Half float64
	Name [8]byte
	Tags [3]uint16
}

func liveRowOf(v int64) liveRow {
	r := liveRow{N: v, Half: float64(v) / 2, Tags: [3]uint16{uint16(v), uint16(v >> 16), uint16(v % 7)}}
	copy(r.Name[:], fmt.Sprintf("r%d", v))
	return r
}

// busyWriter appends rows to the table in dir and syncs every 1000 rows,
// with inPlace sets rows in place too, until it is killed. It says
// "running <pid>" once it has rows. Without inPlace it stops appending at
// a million rows (32 MB) and waits.
func busyWriter(dir string, inPlace bool) {
	tb, err := table.Open[liveRow](dir, nil)
	if err != nil {
		testproc.Say("error %v", err)
		testproc.Hang()
	}
	fail := func(err error) {
		if err != nil {
			testproc.Say("error %v", err)
			testproc.Hang()
		}
	}
	for v := int64(0); ; v++ {
		fail(tb.Append(liveRowOf(v)))
		n := tb.Len()
		switch {
		case v == 1000:
			fail(tb.Sync())
			testproc.Say("running %d", os.Getpid())
		case !inPlace && n == 1_000_000:
			fail(tb.Sync())
			testproc.Hang()
		case inPlace && n > 50_000:
			fail(tb.Truncate(2000))
		case inPlace && v%3 == 0:
			// The rows head shows: the first four and the last four.
			i := int(v/3) % 8
			if i >= 4 {
				i = n - 8 + i
			}
			fail(tb.SetRow(i, liveRowOf(v*1000)))
		case v%1000 == 0:
			fail(tb.Sync())
		}
	}
}

// startWriter starts busyWriter on a new table and returns its directory
// and the writer's pid once it runs.
func startWriter(t *testing.T, inPlace bool) (string, int) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "live")
	env := []string{"PERSIST_TEST_DIR=" + dir}
	if inPlace {
		env = append(env, "PERSIST_TEST_INPLACE=1")
	}
	c := testproc.Start(t, "", "writer", env...)
	line := c.Expect(t, "running ", time.Minute)
	pid, err := strconv.Atoi(strings.TrimPrefix(line, "running "))
	require.NoError(t, err)
	return dir, pid
}

// TestLiveTable runs info, check and head, each as its own process,
// beside a writer in another process that appends and sets rows in place.
func TestLiveTable(t *testing.T) {
	dir, pid := startWriter(t, true)

	code, out, errOut := runBinary(t, "info", dir)
	require.Equal(t, 0, code, errOut)
	require.Regexp(t, `\nrows      \d{4,}\n`, out)
	require.Regexp(t, fmt.Sprintf(`\nopen      by a writer, pid %d: \d{4,} rows published, \d{4,} at its last Sync\n`, pid), out)

	for range 3 {
		code, out, errOut = runBinary(t, "check", dir)
		require.Equal(t, 0, code, "%s%s", out, errOut)
		require.Contains(t, out, "rows (published), ")
		require.Contains(t, out, fmt.Sprintf(", writer pid %d; ok\n", pid))
		require.Contains(t, out, fmt.Sprintf("note: a writer (pid %d) has the table open: ", pid))
	}

	for range 3 {
		code, out, errOut = runBinary(t, "head", dir, "-n", "4")
		require.Equal(t, 0, code, errOut)
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		require.Len(t, lines, 1+4+1, out)
		require.Regexp(t, `^#\s+N\s+Half\s+Name\s+Tags\s*$`, lines[0])
		require.Regexp(t, `^\.\.\.\s+\(\d{4,} rows\)\s*$`, lines[5])
		for _, l := range lines[1:5] {
			requireWholeRow(t, l)
		}
		code, out, errOut = runBinary(t, "tail", dir, "-n", "4")
		require.Equal(t, 0, code, errOut)
		lines = strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		require.Len(t, lines, 1+1+4, out)
		require.Regexp(t, `^\.\.\.\s+\(\d{4,} rows\)\s*$`, lines[1])
		for _, l := range lines[2:] {
			requireWholeRow(t, l)
		}
	}

	code, _, errOut = runBinary(t, "repair", dir)
	require.Equal(t, 1, code, "repair needs the table to itself")
	require.Contains(t, errOut, fmt.Sprintf("lock refused: held by pid %d", pid))
}

// TestLiveSnapshot runs snapshot as its own process beside a writer in
// another process that appends. (A snapshot retries a copy that a change
// in place overlapped: beside a writer that changes rows in place every
// few microseconds, it ends with ErrBusy.)
func TestLiveSnapshot(t *testing.T) {
	dir, _ := startWriter(t, false)
	snap := filepath.Join(t.TempDir(), "snap")
	code, out, errOut := runBinary(t, "snapshot", dir, snap)
	require.Equal(t, 0, code, errOut)
	t.Logf("%s", out)
	m := regexp.MustCompile(`^snapshot of .* into .*: (\d+) rows in \S+\n$`).FindStringSubmatch(out)
	require.NotNil(t, m, out)
	rows, _ := strconv.Atoi(m[1])
	require.GreaterOrEqual(t, rows, 1000)
	s, err := table.Open[liveRow](snap, &table.Options{ReadOnly: true})
	require.NoError(t, err)
	require.Equal(t, rows, s.Len())
	for i := range s.Len() {
		if r := s.Row(i); r != liveRowOf(r.N) {
			t.Fatalf("snapshot row %d: %+v", i, r)
		}
	}
	require.NoError(t, s.Close())
	code, out, errOut = runBinary(t, "check", snap)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, fmt.Sprintf("%d rows (live), %d committed; ok", rows, rows))
}

// rowLine is a row as head prints liveRow.
var rowLine = regexp.MustCompile(`^(\d+)\s+(-?\d+)\s+(\S+)\s+"([^"]*)"\s+\[(\d+) (\d+) (\d+)\]\s*$`)

// requireWholeRow checks that a row head printed is one liveRow.
func requireWholeRow(t *testing.T, line string) {
	t.Helper()
	m := rowLine.FindStringSubmatch(line)
	require.NotNil(t, m, "%q", line)
	n, err := strconv.ParseInt(m[2], 10, 64)
	require.NoError(t, err)
	want := liveRowOf(n)
	got := fmt.Sprintf("%s %s %s %s %s", m[3], m[4], m[5], m[6], m[7])
	name := strings.TrimRight(string(want.Name[:]), "\x00")
	require.Equal(t, fmt.Sprintf("%s %s %d %d %d", strconv.FormatFloat(want.Half, 'g', -1, 64), name, want.Tags[0], want.Tags[1], want.Tags[2]), got,
		"a row of one state: %q", line)
}

// TestBinaryCommands runs each command as its own process on a closed
// table.
func TestBinaryCommands(t *testing.T) {
	dir := newTable(t)
	code, out, errOut := runBinary(t, "info", dir)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "rows      3\n")
	require.Contains(t, out, "open      by no writer; 3 rows at the last Sync\n")

	code, out, errOut = runBinary(t, "head", dir)
	require.Equal(t, 0, code, errOut)
	require.Equal(t, "#  A  b\n0  1  [0 0]\n1  2  [0 0]\n2  3  [0 0]\n", out)

	code, out, errOut = runBinary(t, "check", dir)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "3 rows (live), 3 committed; ok")

	snap := filepath.Join(t.TempDir(), "snap")
	code, out, errOut = runBinary(t, "snapshot", dir, snap)
	require.Equal(t, 0, code, errOut)
	require.Regexp(t, `^snapshot of .*t into .*snap: 3 rows in \S+s\n$`, out)
	code, _, errOut = runBinary(t, "snapshot", dir, snap)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "exists")

	code, out, errOut = runBinary(t, "repair", dir)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "3 rows")

	src := filepath.Join("..", "..", "table", "testdata", "golden", "table-"+colfile.ForeignOrder())
	code, out, errOut = runBinary(t, "convert", src, filepath.Join(t.TempDir(), "native"))
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "converted 100 rows")

	code, _, errOut = runBinary(t, "head")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "usage: persist")
}
