package table_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence"
	"github.com/mmapvec/persistence/internal/colfile"
	"github.com/mmapvec/persistence/table"
)

// GoldenText has a column of each variable-length kind, so that converting
// it swaps spans and dictionary offsets and copies their bytes.
type GoldenText struct {
	ID   uint32
	Name string
	Blob []byte
	Kind table.Symbol
}

func goldenText(i int) GoldenText {
	g := GoldenText{ID: uint32(i), Name: fmt.Sprintf("name-%d-%s", i, string(make([]byte, i%7))),
		Kind: table.Symbol([]string{"", "alpha", "beta", "gamma"}[i%4])}
	if i%3 > 0 {
		g.Blob = []byte{byte(i), 0xFE, byte(i >> 8)}
	}
	return g
}

func goldenTextDir(order string) string {
	return filepath.Join("testdata", "golden", "text-"+order)
}

// TestWriteGoldenText writes the golden string table of this machine's
// byte order when run with -update (natively and under qemu-s390x-static).
// Every fifth row is set again after the appends, so that the spans are
// out of row order and the heap holds garbage, as a real table's do.
func TestWriteGoldenText(t *testing.T) {
	if !*updateGolden {
		t.Skip("run with -update to rewrite testdata/golden")
	}
	dir := goldenTextDir(persistence.HostArch().ByteOrder)
	require.NoError(t, os.RemoveAll(dir))
	tb, err := table.Open[GoldenText](dir, nil)
	require.NoError(t, err)
	for i := range goldenRows {
		require.NoError(t, tb.Append(GoldenText{ID: uint32(i), Name: "old"}))
	}
	for i := goldenRows - 1; i >= 0; i-- {
		require.NoError(t, tb.SetRow(i, goldenText(i)))
	}
	require.NoError(t, tb.Sync())
	require.NoError(t, tb.Compact()) // small files in the repository...
	for i := 0; i < goldenRows; i += 5 {
		require.NoError(t, tb.SetRow(i, goldenText(i))) // ...with some garbage
	}
	require.NoError(t, tb.Sync())
	require.NoError(t, tb.Close())
}

func TestForeignGoldenTextConverted(t *testing.T) {
	foreign := goldenTextDir(colfile.ForeignOrder())
	if _, err := os.Stat(foreign); err != nil {
		t.Fatalf("missing golden table %s: %v", foreign, err)
	}
	src := filepath.Join(t.TempDir(), "src")
	require.NoError(t, os.CopyFS(src, os.DirFS(foreign)))
	_, err := table.Open[GoldenText](src, nil)
	require.ErrorIs(t, err, table.ErrArch)

	dst := filepath.Join(t.TempDir(), "dst")
	n, err := table.Convert(src, dst)
	require.NoError(t, err)
	require.Equal(t, goldenRows, n)
	tb := mustOpen[GoldenText](t, dst, nil)
	require.Equal(t, goldenRows, tb.Len())
	for i := range goldenRows {
		require.Equal(t, goldenText(i), tb.Row(i), "row %d", i)
	}
	kinds, err := table.Symbols(tb, "Kind")
	require.NoError(t, err)
	alpha, ok := kinds.Lookup("alpha")
	require.True(t, ok)
	require.Equal(t, goldenRows/4, kinds.Count(alpha))
	require.NoError(t, tb.Append(goldenText(1000)), "the converted table takes appends")
	require.Equal(t, goldenText(1000), tb.Row(goldenRows))
}

func TestNativeGoldenTextOpens(t *testing.T) {
	src := filepath.Join(t.TempDir(), "src")
	require.NoError(t, os.CopyFS(src, os.DirFS(goldenTextDir(persistence.HostArch().ByteOrder))))
	tb := mustOpen[GoldenText](t, src, nil)
	require.Equal(t, goldenRows, tb.Len())
	for i := range goldenRows {
		require.Equal(t, goldenText(i), tb.Row(i), "row %d", i)
	}
}

func TestSnapshotStrings(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t")
	tb := mustOpen[GoldenText](t, dir, nil)
	for i := range 3000 {
		require.NoError(t, tb.Append(goldenText(i)))
	}
	for i := 0; i < 3000; i += 7 {
		require.NoError(t, tb.SetRow(i, goldenText(i+1)))
	}
	dst := filepath.Join(t.TempDir(), "snap")
	require.NoError(t, tb.Snapshot(dst))
	r, err := table.Open[GoldenText](dir, &table.Options{ReadOnly: true})
	require.NoError(t, err)
	dst2 := filepath.Join(t.TempDir(), "snap2")
	require.NoError(t, r.Snapshot(dst2), "a reader's snapshot")
	require.NoError(t, r.Close())
	for _, d := range []string{dst, dst2} {
		s := mustOpen[GoldenText](t, d, nil)
		require.Equal(t, 3000, s.Len())
		for i := range 3000 {
			require.Equal(t, tb.Row(i), s.Row(i), "%s row %d", d, i)
		}
		rep, err := table.Check(d)
		require.NoError(t, err)
		require.True(t, rep.OK(), "%s", rep)
	}
}
