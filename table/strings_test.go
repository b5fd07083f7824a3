package table_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
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

func TestStringViews(t *testing.T) {
	tb, err := table.Open[event](t.TempDir()+"/t", nil)
	require.NoError(t, err)
	defer tb.Close()
	for i := range 1000 {
		require.NoError(t, tb.Append(mkEvent(i)))
	}
	urls, err := table.Strings(tb, "URL")
	require.NoError(t, err)
	total := 0
	for i, s := range urls.All() {
		require.Equal(t, mkEvent(i).URL, s)
		total += len(s)
	}
	require.Equal(t, total, urls.TotalLen())
	body, err := table.Strings(tb, "Body")
	require.NoError(t, err)
	require.Equal(t, []byte("body1"), body.Bytes(1))
	require.Nil(t, body.Bytes(0))

	country, err := table.Symbols(tb, "Country")
	require.NoError(t, err)
	require.Equal(t, 3, country.Symbols())
	de, ok := country.Lookup("DE")
	require.True(t, ok)
	require.Equal(t, 250, country.Count(de))
	empty, ok := country.Lookup("")
	require.True(t, ok)
	require.Equal(t, uint32(0), empty)
	require.Equal(t, 250, country.Count(0))
	require.Equal(t, "FR", country.String(1))
	_, ok = country.Lookup("XX")
	require.False(t, ok)

	_, err = table.Column[[2]uint64](tb, "URL")
	require.ErrorIs(t, err, table.ErrNoColumn)
	require.Contains(t, err.Error(), "table.Strings")
	_, err = table.Column[uint32](tb, "Country")
	require.ErrorIs(t, err, table.ErrNoColumn)
	_, err = table.Symbols(tb, "URL")
	require.ErrorIs(t, err, table.ErrNoColumn)
	_, err = table.Strings(tb, "ID")
	require.ErrorIs(t, err, table.ErrNoColumn)
}

func TestStringLimits(t *testing.T) {
	tb, err := table.Open[event](t.TempDir()+"/t", &table.Options{MaxValueSize: 10, MaxSymbols: 2})
	require.NoError(t, err)
	defer tb.Close()
	require.NoError(t, tb.Append(event{URL: "0123456789", Country: "A"}))
	err = tb.Append(event{URL: "0123456789x"})
	require.ErrorIs(t, err, table.ErrValueTooLarge)
	err = tb.AppendRows([]event{{URL: "a"}, {Body: make([]byte, 11)}})
	require.ErrorIs(t, err, table.ErrValueTooLarge)
	require.NoError(t, tb.Append(event{Country: "B"}))
	err = tb.Append(event{URL: "kept?", Country: "C"})
	require.ErrorIs(t, err, table.ErrSymbolLimit)
	err = tb.SetRow(0, event{Country: "C"})
	require.ErrorIs(t, err, table.ErrSymbolLimit)
	require.Equal(t, 2, tb.Len(), "no partial row")
	require.Equal(t, event{URL: "0123456789", Country: "A"}, tb.Row(0))
	require.NoError(t, tb.Append(event{Country: "A"}), "a known symbol is no new one")
}

func fileSizes(t *testing.T, dir string) map[string]int64 {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	out := map[string]int64{}
	for _, e := range entries {
		fi, err := e.Info()
		require.NoError(t, err)
		out[e.Name()] = fi.Size()
	}
	return out
}

func TestCompact(t *testing.T) {
	dir := t.TempDir() + "/t"
	tb, err := table.Open[event](dir, nil)
	require.NoError(t, err)
	defer func() { require.NoError(t, tb.Close()) }()
	rows := make([]event, 20000)
	for i := range rows {
		rows[i] = mkEvent(i)
	}
	require.NoError(t, tb.AppendRows(rows))
	for i := 0; i < 20000; i += 2 {
		require.NoError(t, tb.SetRow(i, mkEvent(i+1)))
	}
	require.NoError(t, tb.Truncate(15000))
	want := make([]event, tb.Len())
	_, err = tb.ReadRows(want, 0)
	require.NoError(t, err)
	before := fileSizes(t, dir)

	require.NoError(t, tb.Compact())
	after := fileSizes(t, dir)
	for _, f := range []string{"URL.bytes", "Body.bytes", "ID.col", "URL.col", "Country.col", "Country.sym", "Country.symbytes"} {
		require.Less(t, after[f], before[f], "%s shrinks", f)
	}
	require.Equal(t, int64(4096+15000*8), after["ID.col"])
	require.Equal(t, int64(4096+15000*16), after["URL.col"])
	got := make([]event, tb.Len())
	_, err = tb.ReadRows(got, 0)
	require.NoError(t, err)
	require.Equal(t, want, got)
	urls, err := table.Strings(tb, "URL")
	require.NoError(t, err)
	total := 0
	for _, e := range want {
		total += len(e.URL)
	}
	require.Equal(t, int64(4096+total), after["URL.bytes"], "only the live bytes")
	require.Equal(t, total, urls.TotalLen())

	// The table goes on after it, and across a reopen.
	require.NoError(t, tb.Append(mkEvent(77)))
	require.NoError(t, tb.SetRow(3, mkEvent(78)))
	require.NoError(t, tb.Close())
	tb, err = table.Open[event](dir, nil)
	require.NoError(t, err)
	require.Equal(t, 15001, tb.Len())
	require.Equal(t, mkEvent(78), tb.Row(3))
	require.Equal(t, mkEvent(77), tb.Row(15000))
	require.Equal(t, want[100], tb.Row(100))
	require.Empty(t, tb.Recovered().ExtraFiles)
	require.NoError(t, tb.Truncate(0))
	require.NoError(t, tb.Compact())
	for name, size := range fileSizes(t, dir) {
		if strings.HasSuffix(name, ".col") || strings.HasSuffix(name, ".bytes") {
			require.Equal(t, int64(4096), size, "%s: an empty table's files hold their header only", name)
		}
	}
}

func TestCompactRefusesReaders(t *testing.T) {
	dir := t.TempDir() + "/t"
	tb, err := table.Open[event](dir, nil)
	require.NoError(t, err)
	defer tb.Close()
	require.NoError(t, tb.Append(mkEvent(1)))
	r, err := table.Open[event](dir, &table.Options{ReadOnly: true})
	require.NoError(t, err)
	err = tb.Compact()
	require.ErrorIs(t, err, table.ErrReaders)
	require.NoError(t, r.Close())
	require.NoError(t, tb.Compact())
	require.Equal(t, mkEvent(1), tb.Row(0))
}

func TestStringsDeleteAndReaders(t *testing.T) {
	dir := t.TempDir() + "/t"
	tb, err := table.Open[event](dir, nil)
	require.NoError(t, err)
	defer tb.Close()
	r, err := table.Open[event](dir, &table.Options{ReadOnly: true})
	require.NoError(t, err)
	defer r.Close()
	var want []event
	for i := range 3000 {
		want = append(want, mkEvent(i))
	}
	require.NoError(t, tb.AppendRows(want))
	require.NoError(t, r.Refresh())
	require.Equal(t, 3000, r.Len())
	for i := range 3000 {
		require.Equal(t, want[i], r.Row(i), "reader row %d", i)
	}
	urls, err := table.Strings(r, "URL")
	require.NoError(t, err)
	require.Equal(t, want[2999].URL, urls.String(2999))

	require.NoError(t, tb.Delete(10))
	want = append(want[:10], want[11:]...)
	n, err := tb.DeleteFunc(func(e event) bool { return e.ID%5 == 0 })
	require.NoError(t, err)
	var kept []event
	for _, e := range want {
		if e.ID%5 != 0 {
			kept = append(kept, e)
		}
	}
	require.Equal(t, len(want)-len(kept), n)
	require.Equal(t, len(kept), tb.Len())
	for i := range kept {
		require.Equal(t, kept[i], tb.Row(i), "row %d", i)
	}
	// New values after growth of the heap are seen by the reader too.
	big := event{ID: 1, URL: string(make([]byte, 3<<20)), Country: "ZZ"}
	require.NoError(t, tb.Append(big))
	require.NoError(t, r.Refresh())
	require.Equal(t, tb.Len(), r.Len())
	require.Equal(t, big, r.Row(r.Len()-1))
	country, err := table.Symbols(r, "Country")
	require.NoError(t, err)
	zz, ok := country.Lookup("ZZ")
	require.True(t, ok, "a reader's lookup sees symbols added after it opened")
	require.Equal(t, 1, country.Count(zz))
	for i := range kept {
		require.Equal(t, kept[i], r.Row(i), "reader row %d", i)
	}
}

func TestStringViewsAfterClose(t *testing.T) {
	tb, err := table.Open[event](t.TempDir()+"/t", nil)
	require.NoError(t, err)
	require.NoError(t, tb.Append(mkEvent(1)))
	urls, err := table.Strings(tb, "URL")
	require.NoError(t, err)
	country, err := table.Symbols(tb, "Country")
	require.NoError(t, err)
	_, ok := country.Lookup("FR")
	require.True(t, ok)
	require.NoError(t, tb.Close())
	require.Equal(t, 0, urls.Len())
	require.Equal(t, 0, country.Len())
	_, ok = country.Lookup("FR")
	require.False(t, ok, "a closed table's dictionary holds nothing")
	require.Equal(t, "", country.Value(1))
	require.Equal(t, 0, urls.TotalLen())
	require.PanicsWithValue(t, `column "URL": Bytes on a closed table`, func() { urls.Bytes(0) })
}

// A compaction that stopped before its SCHEMA record leaves prepared files
// and COMMIT.next: Check notes them, a writable open removes them, and the
// table is as before.
func TestCompactLeftovers(t *testing.T) {
	dir := t.TempDir() + "/t"
	tb, err := table.Open[event](dir, nil)
	require.NoError(t, err)
	for i := range 100 {
		require.NoError(t, tb.Append(mkEvent(i)))
	}
	require.NoError(t, tb.Sync())
	require.NoError(t, tb.Close())
	for _, f := range []string{"URL.col.schema", "URL.bytes.schema", "COMMIT.next"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), []byte("partial"), 0o644))
	}
	rep, err := table.Check(dir)
	require.NoError(t, err)
	require.True(t, rep.OK(), "%s", rep)
	require.Contains(t, strings.Join(rep.Notes, "\n"), "URL.bytes.schema of a compaction")
	tb, err = table.Open[event](dir, nil)
	require.NoError(t, err)
	defer tb.Close()
	require.Equal(t, mkEvent(99), tb.Row(99))
	for _, f := range []string{"URL.col.schema", "URL.bytes.schema", "COMMIT.next"} {
		_, err := os.Stat(filepath.Join(dir, f))
		require.ErrorIs(t, err, os.ErrNotExist, f)
	}
}
