package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence/internal/colfile"
	"github.com/mmapvec/persistence/internal/testproc"
	"github.com/mmapvec/persistence/table"
)

// Three versions of one table's row type: v1 as created, v2 as a writable
// open evolves it (A widened, D added), v4 after persist rename b pos and
// persist drop C D.
type v1 struct {
	A int32
	B [2]float32 `persist:"b"`
	C uint8
}

type v2 struct {
	A int64
	B [2]float32 `persist:"b"`
	C uint8
	D struct{ X, Y int16 }
}

type v4 struct {
	A   int64
	Pos [2]float32 `persist:"pos"`
}

func v1Row(i int) v1 { return v1{A: int32(-i), B: [2]float32{float32(i), 0.5}, C: uint8(i)} }

// evolvedTable makes a table of v1 rows and evolves it to v2.
func evolvedTable(t *testing.T) string {
	t.Helper()
	dir := t.TempDir() + "/t"
	tb, err := table.Open[v1](dir, nil)
	require.NoError(t, err)
	for i := range 10 {
		require.NoError(t, tb.Append(v1Row(i)))
	}
	require.NoError(t, tb.Close())
	tw, err := table.Open[v2](dir, nil)
	require.NoError(t, err)
	require.Len(t, tw.Recovered().SchemaChanges, 2)
	require.NoError(t, tw.Close())
	return dir
}

// idleReader opens the table in dir read-only and waits to be killed.
func idleReader(dir string) {
	tb, err := table.Open[table.Any](dir, &table.Options{ReadOnly: true})
	if err != nil {
		testproc.Say("error %v", err)
		testproc.Hang()
	}
	testproc.Say("reading %d rows", tb.Len())
	testproc.Hang()
}

// TestDropRenameInfo runs rename, drop and info, each as its own process:
// each change is printed, info lists the columns with their ids and one
// history line per entry, and the rows stay.
func TestDropRenameInfo(t *testing.T) {
	dir := evolvedTable(t)

	code, out, errOut := runBinary(t, "rename", dir, "b", "pos")
	require.Equal(t, 0, code, errOut)
	require.Equal(t, dir+": change 3: renamed column #2 \"b\" to \"pos\"\n", out)

	code, out, errOut = runBinary(t, "drop", dir, "D", "C")
	require.Equal(t, 0, code, errOut)
	require.Equal(t, dir+": change 4: dropped column #3 \"C\"\n"+dir+": change 4: dropped column #4 \"D\"\n", out)

	code, out, errOut = runBinary(t, "info", dir)
	require.Equal(t, 0, code, errOut)
	require.Regexp(t, `\nid +column +field +type +elem size +file bytes +layout\n`+
		`#1 +A +A +int64 +8 +\d+ +size=8 align=8;  int64@0/8\n`+
		`#2 +pos +B +\[2\]float32 +8 +\d+ +size=8 align=4; \[\] float32@0/4 \[2\]\*4\n\n`, out)
	require.Contains(t, out, "\nhistory   4 schema change(s); the next column added gets id 5\n")
	hist := out[strings.Index(out, "\nhistory "):]
	lines := strings.Split(strings.TrimSpace(hist), "\n")[1:]
	want := []string{
		`change +time +op +id +column +before +after`,
		`1 +%s +create +#1 +A +int32`,
		`1 +%s +create +#2 +b +\[2\]float32`,
		`1 +%s +create +#3 +C +uint8`,
		`2 +%s +add +#4 +D +struct\{X int16; Y int16\}`,
		`2 +%s +widen +#1 +A +int32 +int64`,
		`3 +%s +rename +#2 +pos +"b" +"pos"`,
		`4 +%s +drop +#3 +C`,
		`4 +%s +drop +#4 +D`,
	}
	require.Len(t, lines, len(want), hist)
	stamp := `\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC`
	for i, w := range want {
		if strings.Contains(w, "%s") {
			w = fmt.Sprintf(w, stamp)
		}
		require.Regexp(t, "^"+w+"$", lines[i])
	}

	tb, err := table.Open[v4](dir, nil)
	require.NoError(t, err, "the table opens with the type after the changes")
	defer tb.Close()
	require.Equal(t, 10, tb.Len())
	for i := range 10 {
		r := v1Row(i)
		require.Equal(t, v4{A: int64(r.A), Pos: r.B}, tb.Row(i))
	}
	require.Empty(t, tb.Recovered().SchemaChanges)
}

// TestInfoOfTableWithoutHistory: a table made before column ids (the
// golden table of this machine's byte order) shows none, and says when it
// gets them; its first change gives them, as if given at its creation.
func TestInfoOfTableWithoutHistory(t *testing.T) {
	order := "little-endian"
	if colfile.ForeignOrder() == order {
		order = "big-endian"
	}
	dir := filepath.Join(t.TempDir(), "old")
	require.NoError(t, os.CopyFS(dir, os.DirFS(filepath.Join("..", "..", "table", "testdata", "golden", "table-"+order))))

	code, out, errOut := runCLI("info", dir)
	require.Equal(t, 0, code, errOut)
	require.Regexp(t, `\n- +I16 +I16 +int16 +2 `, out)
	require.Contains(t, out, "\nhistory   none recorded: the table predates column ids; its first schema change gives them\n")

	code, out, errOut = runCLI("rename", dir, "U64", "Big")
	require.Equal(t, 0, code, errOut)
	require.Equal(t, dir+": change 2: renamed column #2 \"U64\" to \"Big\"\n", out)
	_, out, _ = runCLI("info", dir)
	require.Regexp(t, `\n1 +\S+ \S+ UTC +create +#1 +I16 +int16\n`, out)
	require.Regexp(t, `\n#2 +Big +U64 +uint64 +8 `, out)
}

// TestSchemaCommandErrors: wrong arguments are usage errors (status 2);
// a change the table refuses is status 1 with the library's reason, and
// changes nothing.
func TestSchemaCommandErrors(t *testing.T) {
	dir := evolvedTable(t)
	for _, args := range [][]string{{"drop", dir}, {"rename", dir, "A"}, {"rename", dir, "A", "B", "C"}, {"drop", dir, "A", "-wait", "-1s"}} {
		code, _, errOut := runCLI(args...)
		require.Equal(t, 2, code, "%q", args)
		require.Contains(t, errOut, "usage: persist", "%q", args)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"drop", dir, "Nope"}, `no such column: "Nope" (the table has "A", "b", "C", "D")`},
		{[]string{"drop", dir, "A", "b", "C", "D"}, "would leave the table without columns"},
		{[]string{"rename", dir, "A", "c"}, `the table has a column "C" already`},
		{[]string{"rename", dir, "A", "../x"}, `"../x"`},
		{[]string{"drop", dir + "/missing", "A"}, "missing"},
	} {
		code, out, errOut := runCLI(c.args...)
		require.Equal(t, 1, code, "%q: %s", c.args, out)
		require.Contains(t, errOut, c.want, "%q", c.args)
	}
	code, out, _ := runCLI("info", dir)
	require.Equal(t, 0, code)
	require.Contains(t, out, "history   2 schema change(s)")
}

// TestSchemaCommandsBesideOthers: drop and rename refuse a table that a
// writer or a reader in another process has open, naming its pid, and
// with -wait go ahead once the reader is gone.
func TestSchemaCommandsBesideOthers(t *testing.T) {
	wdir, wpid := startWriter(t, false)
	code, _, errOut := runBinary(t, "drop", wdir, "Half")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, fmt.Sprintf("lock refused: held by pid %d", wpid))

	dir := evolvedTable(t)
	r := testproc.Start(t, "", "reader", "PERSIST_TEST_DIR="+dir)
	r.Expect(t, "reading 10 rows", time.Minute)
	code, _, errOut = runBinary(t, "rename", dir, "C", "E")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, fmt.Sprintf("readers have it open (pids [%d])", r.Cmd.Process.Pid))

	c := testproc.Start(t, "", "persist", cliArgsEnv+`=["rename", "-wait", "1m", "`+dir+`", "C", "E"]`)
	r.Kill()
	require.Equal(t, 0, c.Wait(), c.Stderr())
	require.Equal(t, []string{dir + `: change 3: renamed column #3 "C" to "E"`}, c.Lines())
}
