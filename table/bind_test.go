package table_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence/column"
	"github.com/mmapvec/persistence/table"
)

func TestBind(t *testing.T) {
	tb := mustOpen[Particle](t, t.TempDir(), nil)
	require.NoError(t, tb.AppendRows(particles(0, 1, 2)))

	var sys struct {
		Pos   *column.Of[Vec3]
		Vel   *column.Of[Vec3]
		ID    *column.Of[uint32]  // the column is named "id": matched in any case
		Mass  *column.Of[float64] `persist:"Mass"`
		Other *column.Of[float64] `persist:"-"`
		DT    float64             // not a view: left alone
	}
	sys.DT = 0.5
	require.NoError(t, table.Bind(tb, &sys))
	require.Equal(t, 3, sys.Pos.Len())
	require.Equal(t, Vec3{2, 3, 4}, sys.Pos.Get(2))
	require.Equal(t, []uint32{0, 1, 2}, sys.ID.Slice())
	require.Equal(t, "id", sys.ID.Name())
	require.Equal(t, 1.0, sys.Mass.Get(2))
	require.Nil(t, sys.Other)
	require.Equal(t, 0.5, sys.DT)

	sys.Vel.Set(1, Vec3{9, 9, 9})
	require.Equal(t, Vec3{9, 9, 9}, tb.Row(1).Vel, "a view writes the table")
}

// Bind sets all fields or none, and names every field that failed.
func TestBindErrors(t *testing.T) {
	tb := mustOpen[Particle](t, t.TempDir(), nil)
	var bad struct {
		Pos    *column.Of[Vec3]
		Mass   *column.Of[float32] // wrong type
		Nope   *column.Of[int64]   // no such column
		ByName column.Of[Vec3]     // not a pointer
	}
	err := table.Bind(tb, &bad)
	require.ErrorIs(t, err, table.ErrNoColumn)
	for _, says := range []string{"field Mass", "float32", "field Nope", `no column "Nope"`, "field ByName", "make it a pointer"} {
		require.ErrorContains(t, err, says)
	}
	require.Nil(t, bad.Pos, "nothing is set when any field fails")

	var s struct{ Pos *column.Of[Vec3] }
	require.ErrorIs(t, table.Bind(tb, s), table.ErrType, "not a pointer")
	require.ErrorIs(t, table.Bind(tb, (*struct{})(nil)), table.ErrType)
	n := 3
	require.ErrorIs(t, table.Bind(tb, &n), table.ErrType)

	require.NoError(t, tb.Close())
	require.ErrorIs(t, table.Bind(tb, &s), table.ErrClosed)
}
