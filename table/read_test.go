package table_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence/table"
)

func TestReadRows(t *testing.T) {
	dir := t.TempDir()
	tb := mustOpen[Particle](t, dir, nil)
	const n = 1000
	require.NoError(t, tb.AppendRows(particles(seq(0, n)...)))

	buf := make([]Particle, 300)
	for i := range buf {
		buf[i].Scrap, buf[i].note = 7, "left over" // not stored: must read as zero
	}
	got, err := tb.ReadRows(buf, 100)
	require.NoError(t, err)
	require.Equal(t, 300, got)
	require.Equal(t, particles(seq(100, 400)...), buf)

	got, err = tb.ReadRows(buf, n-10)
	require.NoError(t, err)
	require.Equal(t, 10, got, "clipped to Len")
	require.Equal(t, particles(seq(n-10, n)...), buf[:10])
	require.Equal(t, p(110), buf[10], "past the count, dst keeps the last read")

	got, err = tb.ReadRows(buf, n)
	require.NoError(t, err, "from == Len reads nothing")
	require.Zero(t, got)
	for _, from := range []int{-1, n + 1} {
		_, err = tb.ReadRows(buf, from)
		require.ErrorIs(t, err, table.ErrRange, "from %d", from)
	}
	got, err = tb.ReadRows(nil, 0)
	require.NoError(t, err)
	require.Zero(t, got)

	// Every row, through blocks, allocates nothing.
	allocs := testing.AllocsPerRun(10, func() {
		for from := 0; from < tb.Len(); {
			k, _ := tb.ReadRows(buf, from)
			from += k
		}
	})
	require.Zero(t, allocs)

	require.NoError(t, tb.Close())
	_, err = tb.ReadRows(buf, 0)
	require.ErrorIs(t, err, table.ErrClosed)

	anyT := mustOpen[table.Any](t, dir, nil)
	_, err = anyT.ReadRows(make([]table.Any, 1), 0)
	require.ErrorIs(t, err, table.ErrType)
}

func TestAll(t *testing.T) {
	tb := mustOpen[Particle](t, t.TempDir(), nil)
	for range tb.All() {
		t.Fatal("an empty table yields nothing")
	}
	const n = 5000 // several blocks
	want := particles(seq(0, n)...)
	require.NoError(t, tb.AppendRows(want))

	var got []Particle
	for i, r := range tb.All() {
		require.Len(t, got, i, "indexes in order")
		got = append(got, r)
	}
	require.Equal(t, want, got)

	count := 0
	for i := range tb.All() {
		if i == 10 {
			break
		}
		count++
	}
	require.Equal(t, 10, count, "break stops the loop")

	// One allocation per loop (the block buffer), none per row.
	allocs := testing.AllocsPerRun(5, func() {
		for _, r := range tb.All() {
			sink += int(r.ID)
		}
	})
	require.LessOrEqual(t, allocs, 1.0)

	// Rows are those present at the start: appends in the loop are not
	// yielded, and a table that shrinks stops the loop at the next block.
	seen := 0
	for i := range tb.All() {
		if i == 0 {
			require.NoError(t, tb.Append(p(n)))
		}
		if i == 1 {
			require.NoError(t, tb.Truncate(2))
		}
		seen++
	}
	require.Equal(t, 2, tb.Len())
	require.Less(t, seen, n, "the loop stopped once the table shrank")

	// Closing in the loop ends it without reading unmapped memory.
	require.NoError(t, tb.AppendRows(particles(seq(2, n)...)))
	seen = 0
	for range tb.All() {
		if seen == 0 {
			require.NoError(t, tb.Close())
		}
		seen++
	}
	require.Less(t, seen, n)
	for range tb.All() {
		t.Fatal("a closed table yields nothing")
	}
}

func TestAllOnAnyPanics(t *testing.T) {
	dir := t.TempDir()
	tb := mustOpen[Particle](t, dir, nil)
	require.NoError(t, tb.Append(p(1)))
	require.NoError(t, tb.Close())
	anyT := mustOpen[table.Any](t, dir, nil)
	require.PanicsWithValue(t, "table: All on a table opened as table.Any", func() {
		for range anyT.All() {
		}
	})
}
