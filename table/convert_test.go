package table_test

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence"
	"github.com/mmapvec/persistence/internal/bootid"
	"github.com/mmapvec/persistence/internal/colfile"
	"github.com/mmapvec/persistence/internal/testproc"
	"github.com/mmapvec/persistence/mmap"
	"github.com/mmapvec/persistence/table"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/golden for this machine's byte order")

// Golden has a field of every kind of scalar, an array and a nested struct,
// so that converting it exercises every swap.
type Golden struct {
	I16  int16
	U64  uint64
	F32  float32
	C64  complex64
	OK   bool
	Vec  [3]float64
	Pair struct {
		A int32
		B [2]uint16
	}
}

const goldenRows = 100

func goldenRow(i int) Golden {
	g := Golden{I16: int16(-i), U64: uint64(i) << 40, F32: float32(i) / 4, C64: complex(float32(i), -1), OK: i%2 == 0,
		Vec: [3]float64{float64(i), 0.5, -float64(i)}}
	g.Pair.A, g.Pair.B = int32(i*1000), [2]uint16{uint16(i), 0xBEEF}
	return g
}

func goldenDir(order string) string { return filepath.Join("testdata", "golden", "table-"+order) }

// TestWriteGolden writes the golden table of this machine's byte order when
// run with -update (run it natively and under qemu-s390x-static).
func TestWriteGolden(t *testing.T) {
	if !*updateGolden {
		t.Skip("run with -update to rewrite testdata/golden")
	}
	dir := goldenDir(persistence.HostArch().ByteOrder)
	require.NoError(t, os.RemoveAll(dir))
	require.NoError(t, os.MkdirAll(filepath.Dir(dir), 0o755))
	tb, err := table.Open[Golden](dir, nil)
	require.NoError(t, err)
	for i := range goldenRows {
		require.NoError(t, tb.Append(goldenRow(i)))
	}
	require.NoError(t, tb.Sync())
	require.NoError(t, tb.Close())
	// Cut the growth capacity so the files stay small in the repository.
	for _, c := range tb.Manifest().Columns {
		require.NoError(t, os.Truncate(filepath.Join(dir, c.File), int64(4096+goldenRows*c.Layout.Size)))
	}
}

func TestForeignGoldenRefusedAndConverted(t *testing.T) {
	foreign := goldenDir(colfile.ForeignOrder())
	if _, err := os.Stat(foreign); err != nil {
		t.Fatalf("missing golden table %s: %v", foreign, err)
	}
	// Work on a copy: even a refused open must not need write access.
	src := filepath.Join(t.TempDir(), "src")
	require.NoError(t, os.CopyFS(src, os.DirFS(foreign)))

	_, err := table.Open[Golden](src, nil)
	require.ErrorIs(t, err, table.ErrArch)
	require.Contains(t, err.Error(), "byte order")
	_, err = mmap.Open[int16](filepath.Join(src, "I16.col"), &mmap.Options{Tag: [8]byte{'t', 'a', 'b', 'l', 'e', 'c', 'o', 'l'}, ReadOnly: true})
	require.ErrorIs(t, err, mmap.ErrByteOrder, "a single column file says the same")

	dst := filepath.Join(t.TempDir(), "dst")
	n, err := table.Convert(src, dst)
	require.NoError(t, err)
	require.Equal(t, goldenRows, n)
	tb := mustOpen[Golden](t, dst, &table.Options{ReadOnly: true})
	require.Equal(t, goldenRows, tb.Len())
	for i := range goldenRows {
		require.Equal(t, goldenRow(i), tb.Row(i), "row %d", i)
	}

	_, err = table.Convert(dst, filepath.Join(t.TempDir(), "again"))
	require.Error(t, err, "a native table has nothing to convert")
	_, err = table.Convert(src, dst)
	require.Error(t, err, "the destination must not exist")
}

func TestNativeGoldenOpens(t *testing.T) {
	native := goldenDir(persistence.HostArch().ByteOrder)
	src := filepath.Join(t.TempDir(), "src")
	require.NoError(t, os.CopyFS(src, os.DirFS(native)))
	tb := mustOpen[Golden](t, src, nil)
	require.Equal(t, goldenRows, tb.Len(), "%s", tb.Recovered())
	require.Equal(t, goldenRow(42), tb.Row(42))
}

// TestConvertKilled kills a Convert at each of its steps: the destination
// is then absent or the whole converted table (never an empty one), and
// running Convert again removes what the killed run left and succeeds.
func TestConvertKilled(t *testing.T) {
	if testproc.Role() == "convert" {
		n, err := table.Convert(os.Getenv("PERSIST_TEST_SRC"), os.Getenv("PERSIST_TEST_DIR"))
		testproc.Say("converted %d %v", n, err)
		os.Exit(0)
	}
	foreign := goldenDir(colfile.ForeignOrder())
	for _, point := range []struct{ name, at string }{
		{"vec.flush", "1"}, {"vec.flush", "3"}, {"table.convert.columns", "1"}, {"table.convert.commit", "1"},
		{"table.convert.rename", "1"}, {"table.convert.renamed", "1"},
		{"table.sync.flush", "1"}, // where the old Convert filled a table already in place
	} {
		t.Run(point.name+"@"+point.at, func(t *testing.T) {
			src := filepath.Join(t.TempDir(), "src")
			require.NoError(t, os.CopyFS(src, os.DirFS(foreign)))
			dst := filepath.Join(t.TempDir(), "dst")
			c := testproc.Start(t, "TestConvertKilled", "convert", "PERSIST_TEST_SRC="+src, "PERSIST_TEST_DIR="+dst,
				"PERSIST_CRASH_NAME="+point.name, "PERSIST_CRASH_AT="+point.at)
			code := c.Wait()
			t.Logf("child exit code %d", code)

			if _, err := os.Stat(dst); err == nil {
				checkConverted(t, dst)
				require.Empty(t, asides(t, dst), "a complete conversion leaves nothing aside")
				return
			}
			require.Equal(t, -1, code, "a Convert that was not killed made its table")
			require.Len(t, asides(t, dst), 1, "the killed run's directory, aside")
			n, err := table.Convert(src, dst)
			require.NoError(t, err, "a rerun succeeds")
			require.Equal(t, goldenRows, n)
			require.Empty(t, asides(t, dst), "the rerun removed the killed run's directory")
			checkConverted(t, dst)
		})
	}
}

// checkConverted checks that dst holds the whole golden table, as after a
// reboot too (the conversion committed it).
func checkConverted(t *testing.T, dst string) {
	t.Helper()
	mustCheck(t, dst)
	bootid.Override("after a reboot")
	defer bootid.Override("")
	tb, err := table.Open[Golden](dst, &table.Options{ReadOnly: true})
	require.NoError(t, err)
	defer tb.Close()
	require.Equal(t, goldenRows, tb.Len(), "%s", tb.Recovered())
	for i := range goldenRows {
		require.Equal(t, goldenRow(i), tb.Row(i), "row %d", i)
	}
}
