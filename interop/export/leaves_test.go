package export_test

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence/interop/export"
	"github.com/mmapvec/persistence/table"
)

// TestLeavesArrayOfByteStructs: an array of one-byte structs has a uint8
// leaf of stride 1 too, and was once taken for a [N]byte run (one fixed
// leaf "Hist.[].A"); each of its scalars is a leaf of its own.
func TestLeavesArrayOfByteStructs(t *testing.T) {
	type small struct{ A uint8 }
	type row struct{ Hist [3]small }
	dir := filepath.Join(t.TempDir(), "t")
	tb, err := table.Open[row](dir, nil)
	require.NoError(t, err)
	require.NoError(t, tb.AppendRows([]row{{[3]small{{1}, {2}, {3}}}}))
	require.NoError(t, tb.Close())
	ro := openAny(t, dir)

	leaves, err := export.Leaves(ro.Manifest().Columns)
	require.NoError(t, err)
	var names, kinds []string
	for _, l := range leaves {
		names, kinds = append(names, l.Name), append(kinds, l.Kind)
	}
	require.Equal(t, []string{"Hist.0.A", "Hist.1.A", "Hist.2.A"}, names)
	require.Equal(t, []string{"uint8", "uint8", "uint8"}, kinds)

	var b bytes.Buffer
	_, err = export.CSV(ro, &b, nil)
	require.NoError(t, err)
	require.Equal(t, "Hist.0.A,Hist.1.A,Hist.2.A\n1,2,3\n", b.String())
}
