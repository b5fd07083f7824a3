package table_test

import (
	"encoding/binary"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence/table"
)

// importRow is what a run-time struct type built by untypedRow is shaped
// like, so that the table can be read back with Open.
type importRow struct {
	ID    int64        `persist:"id"`
	Score float32      `persist:"score"`
	OK    bool         `persist:"ok"`
	Tag   [4]byte      `persist:"tag"`
	URL   string       `persist:"url"`
	Land  table.Symbol `persist:"land"`
	Body  []byte       `persist:"body"`
}

// untypedRow builds importRow's shape at run time, as an importer does
// from a file's schema: field names that are no column names, tags that are.
func untypedRow() reflect.Type {
	f := func(i int, name string, t reflect.Type) reflect.StructField {
		return reflect.StructField{Name: "F" + string(rune('A'+i)), Type: t, Tag: reflect.StructTag(`persist:"` + name + `"`)}
	}
	return reflect.StructOf([]reflect.StructField{
		f(0, "id", reflect.TypeFor[int64]()),
		f(1, "score", reflect.TypeFor[float32]()),
		f(2, "ok", reflect.TypeFor[bool]()),
		f(3, "tag", reflect.TypeFor[[4]byte]()),
		f(4, "url", reflect.TypeFor[string]()),
		f(5, "land", reflect.TypeFor[table.Symbol]()),
		f(6, "body", reflect.TypeFor[[]byte]()),
	})
}

func importWant(i int) importRow {
	r := importRow{ID: int64(i), Score: float32(i) / 4, OK: i%3 == 0, Tag: [4]byte{byte(i), 'x'},
		URL: strings.Repeat("u", i%7), Land: table.Symbol([]string{"", "DE", "FR"}[i%3])}
	if i%2 == 1 {
		r.Body = []byte{byte(i), 0, 1}
	}
	return r
}

// importBatch is rows [from, from+n) of importWant, column by column.
func importBatch(from, n int) []table.ColumnData {
	cols := make([]table.ColumnData, 7)
	for i := from; i < from+n; i++ {
		r := importWant(i)
		cols[0].Elems = binary.NativeEndian.AppendUint64(cols[0].Elems, uint64(r.ID))
		cols[1].Elems = binary.NativeEndian.AppendUint32(cols[1].Elems, math.Float32bits(r.Score))
		ok := byte(0)
		if r.OK {
			ok = 1
		}
		cols[2].Elems = append(cols[2].Elems, ok)
		cols[3].Elems = append(cols[3].Elems, r.Tag[:]...)
		cols[4].Values = append(cols[4].Values, r.URL)
		cols[5].Values = append(cols[5].Values, string(r.Land))
		cols[6].Values = append(cols[6].Values, string(r.Body))
	}
	return cols
}

func TestAppenderRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "t")
	require.NoError(t, table.Create(dir, untypedRow(), nil))
	err := table.Create(dir, untypedRow(), nil)
	require.ErrorIs(t, err, fs.ErrExist)

	a, err := table.OpenAppender(dir, nil)
	require.NoError(t, err)
	names := []string{}
	for _, c := range a.Columns() {
		names = append(names, c.Name)
	}
	require.Equal(t, []string{"id", "score", "ok", "tag", "url", "land", "body"}, names)
	require.NoError(t, a.Append(10, importBatch(0, 10)))
	require.NoError(t, a.Append(0, importBatch(0, 0)))
	// Large enough for the staged writes of AppendRows.
	big := importBatch(10, 50_000)
	big[4].Values[7] = strings.Repeat("v", 300<<10)
	require.NoError(t, a.Append(50_000, big))
	require.NoError(t, a.Sync())
	require.Equal(t, 50_010, a.Len())
	rep, err := a.Table().Check()
	require.NoError(t, err)
	require.True(t, rep.OK(), "%v", rep)
	require.NoError(t, a.Close())
	require.NoError(t, a.Close())
	require.ErrorIs(t, a.Append(1, importBatch(0, 1)), table.ErrClosed)

	tb := mustOpen[importRow](t, dir, &table.Options{ReadOnly: true})
	require.Equal(t, 50_010, tb.Len())
	for i := range tb.Len() {
		want := importWant(i)
		if i == 17 {
			want.URL = strings.Repeat("v", 300<<10)
		}
		require.Equal(t, want, tb.Row(i), "row %d", i)
	}
}

func TestAppenderRefusesBadBatches(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t")
	require.NoError(t, table.Create(dir, untypedRow(), &table.Options{MaxValueSize: 100, MaxSymbols: 2}))
	a, err := table.OpenAppender(dir, &table.Options{MaxValueSize: 100, MaxSymbols: 2})
	require.NoError(t, err)
	defer a.Close()
	require.NoError(t, a.Append(4, importBatch(0, 4)))
	require.NoError(t, a.Sync())
	before := snapshotFiles(t, dir)

	short := importBatch(0, 3)
	short[0].Elems = short[0].Elems[:16]
	badBool := importBatch(0, 3)
	badBool[2].Elems[1] = 2
	long := importBatch(0, 3)
	long[4].Values[2] = strings.Repeat("x", 101)
	symbols := importBatch(0, 3)
	symbols[5].Values[1] = "US"
	for _, tc := range []struct {
		name string
		n    int
		cols []table.ColumnData
		want error
	}{
		{"too few columns", 3, importBatch(0, 3)[:6], table.ErrType},
		{"short column", 3, short, table.ErrType},
		{"bool byte", 3, badBool, table.ErrType},
		{"value too large", 3, long, table.ErrValueTooLarge},
		{"symbol limit", 3, symbols, table.ErrSymbolLimit},
		{"negative", -1, importBatch(0, 0), table.ErrRange},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := a.Append(tc.n, tc.cols)
			require.ErrorIs(t, err, tc.want)
			require.Equal(t, 4, a.Len())
		})
	}
	require.NoError(t, a.Close())
	// A failed batch may have added dictionary entries or heap bytes no
	// row points at (as AppendRows may); the rows and their files' row
	// counts are as they were.
	tb := mustOpen[importRow](t, dir, &table.Options{ReadOnly: true})
	require.Equal(t, 4, tb.Len())
	for i := range 4 {
		require.Equal(t, importWant(i), tb.Row(i))
	}
	after := snapshotFiles(t, dir)
	for _, name := range []string{"id.col", "score.col", "ok.col", "tag.col", "manifest.json", "COMMIT"} {
		require.Equal(t, before[name], after[name], name)
	}
}

func TestCreateRefuses(t *testing.T) {
	dir := t.TempDir()
	require.ErrorIs(t, table.Create(filepath.Join(dir, "a"), reflect.TypeFor[int](), nil), table.ErrType)
	require.ErrorIs(t, table.Create(filepath.Join(dir, "b"), reflect.TypeFor[table.Any](), nil), table.ErrType)
	bad := reflect.StructOf([]reflect.StructField{{Name: "X", Type: reflect.TypeFor[int](), Tag: `persist:"a/b"`}})
	require.ErrorIs(t, table.Create(filepath.Join(dir, "c"), bad, nil), table.ErrType)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "d"), nil, 0o644))
	require.Error(t, table.Create(dir, untypedRow(), nil))
	_, err := table.OpenAppender(filepath.Join(dir, "none"), nil)
	require.ErrorIs(t, err, table.ErrNotTable)
	require.False(t, errors.Is(err, nil))
}

// snapshotFiles reads every regular file of dir.
func snapshotFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		if e.Type().IsRegular() {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			require.NoError(t, err)
			out[e.Name()] = b
		}
	}
	return out
}

// TestCreateInEmptyDir checks that Create takes an existing empty
// directory, and that an untyped open of a directory without a table is
// ErrNotTable and leaves nothing in it.
func TestCreateInEmptyDir(t *testing.T) {
	empty := t.TempDir()
	_, err := table.OpenAppender(empty, nil)
	require.ErrorIs(t, err, table.ErrNotTable)
	_, err = table.Open[table.Any](empty, nil)
	require.ErrorIs(t, err, table.ErrNotTable)
	entries, err := os.ReadDir(empty)
	require.NoError(t, err)
	require.Empty(t, entries, "a refused open leaves no lock file")

	require.NoError(t, table.Create(empty, untypedRow(), nil))
	a, err := table.OpenAppender(empty, nil)
	require.NoError(t, err)
	require.Equal(t, 0, a.Len())
	require.NoError(t, a.Close())
	require.Error(t, table.Create(empty, untypedRow(), nil), "a table is there now")
}

// A row count whose bytes pass 2^64 is refused, not taken for the bytes
// given: n*size was compared after it wrapped, so one 128 KiB element
// passed for 2^47+1 rows, which the table then published over a file of
// one element (a writable reopen refused it as corrupt).
func TestAppenderRowCountOverflow(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t")
	const size = 1 << 17
	rt := reflect.StructOf([]reflect.StructField{{Name: "X", Type: reflect.TypeFor[[size]byte]()}})
	require.NoError(t, table.Create(dir, rt, nil))
	a, err := table.OpenAppender(dir, nil)
	require.NoError(t, err)
	require.NoError(t, a.Append(2, []table.ColumnData{{Elems: make([]byte, 2*size)}}))
	require.NoError(t, a.Sync())
	require.ErrorIs(t, a.Append(1<<47+1, []table.ColumnData{{Elems: make([]byte, size)}}), table.ErrType)
	require.Equal(t, 2, a.Len())
	require.NoError(t, a.Close())
	tb, err := table.Open[table.Any](dir, nil)
	require.NoError(t, err)
	require.Equal(t, 2, tb.Len())
	require.NoError(t, tb.Close())
}
