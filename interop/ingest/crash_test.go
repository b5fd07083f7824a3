package ingest_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence/internal/testproc"
	"github.com/mmapvec/persistence/internal/testseed"
	"github.com/mmapvec/persistence/interop/ingest"
	"github.com/mmapvec/persistence/table"
)

// The test binary plays an importer (role "import") for the crash test.
func TestMain(m *testing.M) {
	if testproc.Role() == "import" {
		n, err := importFile(os.Getenv("PERSIST_TEST_DIR"), os.Getenv("PERSIST_TEST_FILE"), &ingest.Options{BatchRows: crashBatch,
			Progress: func(done, _ int) { testproc.Say("imported %d", done) }})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		testproc.Say("done %d", n)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

const crashBatch = 400

// TestImportCrash kills an import at crash points of its appends and
// syncs (a column published, a Sync's flush and commit): the table then
// holds its rows before the import and whole batches of the file, never a
// part of one. PERSIST_SEED replays the points drawn.
func TestImportCrash(t *testing.T) {
	seed := testseed.Seed(t)
	rng := rand.New(rand.NewPCG(seed, 0))

	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	newEvery(t, src, 0, 3000)
	file := filepath.Join(dir, "rows.csv")
	exportFile(t, src, file, nil)
	want := rowsOf(t, src)
	template := filepath.Join(dir, "template")
	newEvery(t, template, 5000, 10)
	before := rowsOf(t, template)

	run := func(name string, env ...string) (*testproc.Child, string) {
		dst := filepath.Join(dir, name)
		require.NoError(t, os.CopyFS(dst, os.DirFS(template)))
		c := testproc.Start(t, "", "import", append(env, "PERSIST_TEST_DIR="+dst, "PERSIST_TEST_FILE="+file)...)
		c.Wait()
		return c, dst
	}
	log := filepath.Join(dir, "points")
	c, _ := run("full", testproc.CrashAt(1<<40, log)...)
	require.False(t, c.Killed(), c.Stderr())
	points := testproc.CrashLog(t, log)
	require.NotEmpty(t, points)

	trials := 12
	if raceEnabled {
		trials = 4
	}
	for k := range trials {
		n := 1 + rng.IntN(len(points))
		log := filepath.Join(dir, fmt.Sprintf("points%d", k))
		c, dst := run(fmt.Sprintf("t%d", k), testproc.CrashAt(n, log)...)
		require.True(t, c.Killed(), "crash point %d (%s) did not kill: %s", n, points[n-1], c.Stderr())
		tb, err := table.Open[every](dst, nil) // recovers
		require.NoError(t, err)
		require.NoError(t, tb.Close())
		got := rowsOf(t, dst)
		added := len(got) - len(before)
		require.Equal(t, before, got[:len(before)], "point %d (%s)", n, points[n-1])
		require.True(t, added%crashBatch == 0 || added == len(want), "point %d (%s): %d rows added, not whole batches of %d", n, points[n-1], added, crashBatch)
		require.Equal(t, want[:added], got[len(before):], "point %d (%s)", n, points[n-1])
		t.Logf("killed at point %d of %d (%s): %d batches kept", n, len(points), points[n-1], added/crashBatch)
	}
}
