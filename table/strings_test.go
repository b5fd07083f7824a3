package table_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence/table"
)

type event struct {
	ID      int64
	URL     string
	Country table.Symbol
	Body    []byte
	Dur     float32
}

func mkEvent(i int) event {
	e := event{ID: int64(i), URL: fmt.Sprintf("https://example.com/%d/%s", i, string(make([]byte, i%50))),
		Country: table.Symbol([]string{"DE", "FR", "", "US"}[i%4]), Dur: float32(i) / 2}
	if i%3 != 0 {
		e.Body = []byte(fmt.Sprint("body", i))
	}
	return e
}

func TestStringsRoundTrip(t *testing.T) {
	dir := t.TempDir() + "/t"
	tb, err := table.Open[event](dir, nil)
	require.NoError(t, err)
	for i := range 100 {
		require.NoError(t, tb.Append(mkEvent(i)))
	}
	batch := make([]event, 5000)
	for i := range batch {
		batch[i] = mkEvent(100 + i)
	}
	require.NoError(t, tb.AppendRows(batch))
	for i := range tb.Len() {
		require.Equal(t, mkEvent(i), tb.Row(i), "row %d", i)
	}
	require.NoError(t, tb.SetRow(5, mkEvent(4000)))
	require.NoError(t, tb.SwapRemove(0))
	require.NoError(t, tb.Truncate(4000))
	require.NoError(t, tb.Sync())
	require.NoError(t, tb.Close())

	tb, err = table.Open[event](dir, nil)
	require.NoError(t, err)
	defer tb.Close()
	require.Equal(t, 4000, tb.Len())
	require.Equal(t, mkEvent(5099), tb.Row(0))
	require.Equal(t, mkEvent(4000), tb.Row(5))
	require.Equal(t, mkEvent(7), tb.Row(7))
	rows := make([]event, 100)
	n, err := tb.ReadRows(rows, 50)
	require.NoError(t, err)
	require.Equal(t, 100, n)
	require.Equal(t, mkEvent(60), rows[10])
}
