package table_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence/column"
	"github.com/mmapvec/persistence/table"
)

type Base struct {
	ID   int64
	Name [8]byte
}

type Mid struct {
	Base
	M int32 `persist:"m"`
}

type inner struct{ Q int32 }

// Flat embeds structs three ways: directly, two levels deep (through Mid's
// Base), and an unexported type whose exported field is promoted.
type Flat struct {
	Mid
	inner
	Extra float64
}

func columnsOf[R any](t *testing.T, tb *table.Table[R]) (names, fields []string) {
	t.Helper()
	for _, c := range tb.Manifest().Columns {
		names = append(names, c.Name)
		fields = append(fields, c.Field)
	}
	return names, fields
}

func TestEmbeddedStructsFlatten(t *testing.T) {
	tb := mustOpen[Flat](t, t.TempDir(), nil)
	names, fields := columnsOf(t, tb)
	require.Equal(t, []string{"ID", "Name", "m", "Q", "Extra"}, names)
	require.Equal(t, []string{"Mid.Base.ID", "Mid.Base.Name", "Mid.M", "inner.Q", "Extra"}, fields)

	r := Flat{Mid: Mid{Base: Base{ID: 7, Name: [8]byte{'a'}}, M: 3}, inner: inner{Q: 4}, Extra: 1.5}
	require.NoError(t, tb.Append(r))
	require.Equal(t, r, tb.Row(0))

	// A promoted field is selected as Go spells it, and found by name.
	id, err := table.Col(tb, func(f *Flat) *int64 { return &f.ID })
	require.NoError(t, err)
	require.Equal(t, []int64{7}, id.Slice())
	q, err := table.Column[int32](tb, "Q")
	require.NoError(t, err)
	require.Equal(t, int32(4), q.Get(0))
	_, err = table.Col(tb, func(f *Flat) *Base { return &f.Base })
	require.ErrorIs(t, err, table.ErrNoColumn, "a flattened struct is no column of its own")
	var sys struct {
		ID    *column.Of[int64]
		Extra *column.Of[float64]
	}
	require.NoError(t, table.Bind(tb, &sys))
	require.Equal(t, 1.5, sys.Extra.Get(0))
}

type WholeBase struct {
	Base  `persist:",whole"`
	Extra float64
}

type NamedBase struct {
	Base  `persist:"base"`
	Extra float64
}

// Named (not embedded) struct fields stay one column, as they always did.
type FieldBase struct {
	B     Base
	Extra float64
}

func TestEmbeddedStructKeptWhole(t *testing.T) {
	w := mustOpen[WholeBase](t, t.TempDir(), nil)
	names, _ := columnsOf(t, w)
	require.Equal(t, []string{"Base", "Extra"}, names)
	require.NoError(t, w.Append(WholeBase{Base: Base{ID: 1}, Extra: 2}))
	require.Equal(t, WholeBase{Base: Base{ID: 1}, Extra: 2}, w.Row(0))
	_, err := table.Col(w, func(r *WholeBase) *Base { return &r.Base })
	require.NoError(t, err)

	n := mustOpen[NamedBase](t, t.TempDir(), nil)
	names, _ = columnsOf(t, n)
	require.Equal(t, []string{"base", "Extra"}, names, "a name in the tag keeps it whole, as in encoding/json")

	f := mustOpen[FieldBase](t, t.TempDir(), nil)
	names, _ = columnsOf(t, f)
	require.Equal(t, []string{"B", "Extra"}, names)
}

type A struct{ X int64 }
type B struct{ X int64 }

type Clash struct {
	A
	B
}

type OuterClash struct {
	A
	X int32
}

type TimeEmbedded struct {
	time.Time
	V int64
}

type BadOption struct {
	Base `persist:",flat"`
}

type Marker struct{}

type MarkerEmbedded struct {
	Marker
	V int64
}

// Conflicts are refused naming both fields (encoding/json would drop
// them silently); a struct with nothing to promote is not dropped.
func TestEmbeddedStructErrors(t *testing.T) {
	_, err := table.Open[Clash](t.TempDir(), nil)
	require.ErrorIs(t, err, table.ErrType)
	require.ErrorContains(t, err, "fields A.X and B.X both map to column \"X\"")
	require.ErrorContains(t, err, `persist:",whole"`)

	_, err = table.Open[OuterClash](t.TempDir(), nil)
	require.ErrorIs(t, err, table.ErrType)
	require.ErrorContains(t, err, "fields A.X and X")

	_, err = table.Open[TimeEmbedded](t.TempDir(), nil)
	require.ErrorIs(t, err, table.ErrType, "time.Time is refused with its advice, not flattened into nothing")
	require.ErrorContains(t, err, "Unix")

	_, err = table.Open[BadOption](t.TempDir(), nil)
	require.ErrorIs(t, err, table.ErrType)
	require.ErrorContains(t, err, `unknown or repeated persist tag option "flat"`)

	_, err = table.Open[MarkerEmbedded](t.TempDir(), nil)
	require.ErrorIs(t, err, table.ErrType)
	require.ErrorContains(t, err, "size 0")
}

// OldFlat is Flat as the library stored it before embedded structs were
// flattened: Mid one column, the unexported inner not stored at all.
type OldFlat struct {
	Mid   `persist:",whole"`
	Extra float64
}

// A table created before flattening holds an embedded struct as one
// column; opening it with the same R keeps that (its manifest says so),
// while a new table of that R flattens.
func TestEmbeddedStructInOldTable(t *testing.T) {
	dir := t.TempDir()
	old := mustOpen[OldFlat](t, dir, nil)
	names, fields := columnsOf(t, old)
	require.Equal(t, []string{"Mid", "Extra"}, names, "the manifest the library wrote before flattening")
	require.Equal(t, []string{"Mid", "Extra"}, fields)
	r := Flat{Mid: Mid{Base: Base{ID: 9}, M: 5}, inner: inner{Q: 4}, Extra: 2.5}
	require.NoError(t, old.Append(OldFlat{Mid: r.Mid, Extra: r.Extra}))
	require.NoError(t, old.Sync())
	require.NoError(t, old.Close())

	for _, ro := range []bool{true, false} {
		tb := mustOpen[Flat](t, dir, &table.Options{ReadOnly: ro})
		names, _ = columnsOf(t, tb)
		require.Equal(t, []string{"Mid", "Extra"}, names)
		want := r
		want.inner = inner{} // not stored by the old schema
		require.Equal(t, want, tb.Row(0))
		mid, err := table.Col(tb, func(f *Flat) *Mid { return &f.Mid })
		require.NoError(t, err, "the embedded struct is the column")
		require.Equal(t, r.Mid, mid.Get(0))
		_, err = table.Col(tb, func(f *Flat) *int64 { return &f.ID })
		require.ErrorIs(t, err, table.ErrNoColumn, "its fields are not columns in this table")
		if !ro {
			require.NoError(t, tb.Append(r))
			require.Equal(t, 2, tb.Len())
		}
		require.NoError(t, tb.Close())
	}

	fresh := mustOpen[Flat](t, t.TempDir(), nil)
	names, _ = columnsOf(t, fresh)
	require.Equal(t, []string{"ID", "Name", "m", "Q", "Extra"}, names, "a new table flattens")

	// A type that fits neither schema is refused with the differences
	// from the flattened one.
	type Other struct {
		Mid
		Extra int64
	}
	_, err := table.Open[Other](dir, nil)
	require.ErrorIs(t, err, table.ErrSchema)
	require.ErrorContains(t, err, `column "Extra" (field Extra): float64 to int64`)
}
