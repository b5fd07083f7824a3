package main

import (
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence/table"
)

// A table for the commands that move rows in and out.
type trade struct {
	ID    int64
	Price float64
	Sym   table.Symbol
	Note  string
	Tag   [4]byte
}

func tradeOf(i int) trade {
	return trade{ID: int64(i), Price: float64(i) / 4, Sym: table.Symbol([]string{"AB", "CD", "EF"}[i%3]),
		Note: strings.Repeat("n", i%5), Tag: [4]byte{'t', byte('0' + i%10)}}
}

func newTrades(t *testing.T, n int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "trades")
	tb, err := table.Open[trade](dir, nil)
	require.NoError(t, err)
	rows := make([]trade, n)
	for i := range rows {
		rows[i] = tradeOf(i)
	}
	require.NoError(t, tb.AppendRows(rows))
	require.NoError(t, tb.Sync())
	require.NoError(t, tb.Close())
	return dir
}

func tradesIn(t *testing.T, dir string) []trade {
	t.Helper()
	tb, err := table.Open[trade](dir, &table.Options{ReadOnly: true})
	require.NoError(t, err)
	defer tb.Close()
	out := make([]trade, tb.Len())
	_, err = tb.ReadRows(out, 0)
	require.NoError(t, err)
	return out
}

func TestTail(t *testing.T) {
	dir := newTrades(t, 50)
	code, out, errOut := runBinary(t, "tail", dir, "-n", "3")
	require.Equal(t, 0, code, errOut)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 5, out) // header, gap, three rows
	require.Regexp(t, `^#\s+ID\s+Price\s+Sym\s+Note\s+Tag$`, lines[0])
	require.Regexp(t, `^\.\.\.\s+\(50 rows\)$`, lines[1])
	require.Regexp(t, `^47\s+47\s+11\.75\s+EF\s+nn\s+"t7"$`, lines[2])
	require.Regexp(t, `^49\s+49\s+12\.25\s+CD\s+nnnn\s+"t9"$`, lines[4])

	code, out, _ = runBinary(t, "tail", dir)
	require.Equal(t, 0, code)
	require.Len(t, strings.Split(strings.TrimSpace(out), "\n"), 12) // the default 10
}

func TestExportImportRoundTrips(t *testing.T) {
	src := newTrades(t, 1000)
	want := tradesIn(t, src)
	for _, ext := range []string{"parquet", "csv"} {
		t.Run(ext, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "trades."+ext)
			code, out, errOut := runBinary(t, "export", src, file)
			require.Equal(t, 0, code, errOut)
			require.Contains(t, out, "exported 1000 rows")
			require.Empty(t, errOut, "no progress when stdout is not a terminal")

			// Into the table it came from: every row twice.
			dst := filepath.Join(t.TempDir(), "copy")
			require.NoError(t, os.CopyFS(dst, os.DirFS(src)))
			code, out, errOut = runBinary(t, "import", dst, file, "-batch", "300")
			require.Equal(t, 0, code, errOut)
			require.Contains(t, out, "imported 1000 rows")
			got := tradesIn(t, dst)
			require.Equal(t, want, got[:1000])
			require.Equal(t, want, got[1000:])

			// Into a new table.
			fresh := filepath.Join(t.TempDir(), "fresh")
			code, _, errOut = runBinary(t, "import", fresh, file)
			require.Equal(t, 0, code, errOut)
			code, out, _ = runBinary(t, "head", fresh, "-n", "1")
			require.Equal(t, 0, code)
			require.Contains(t, out, "(1000 rows)")
		})
	}
	t.Run("jsonl to stdout", func(t *testing.T) {
		code, out, errOut := runBinary(t, "export", src, "-", "-format", "jsonl")
		require.Equal(t, 0, code, errOut)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		require.Len(t, lines, 1000)
		var row map[string]any
		require.NoError(t, json.Unmarshal([]byte(lines[4]), &row))
		require.Equal(t, map[string]any{"ID": 4.0, "Price": 1.0, "Sym": "CD", "Note": "nnnn", "Tag": "dDQAAA=="}, row)
	})
	t.Run("partitioned", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "by-sym")
		code, _, errOut := runBinary(t, "export", src, out, "-partition-by", "Sym", "-compression", "zstd")
		require.Equal(t, 0, code, errOut)
		for _, p := range []string{"Sym=AB", "Sym=CD", "Sym=EF"} {
			require.FileExists(t, filepath.Join(out, p, "part-0.parquet"))
		}
	})
	t.Run("bad", func(t *testing.T) {
		dir := t.TempDir()
		code, _, errOut := runBinary(t, "export", src, filepath.Join(dir, "x.txt"))
		require.Equal(t, 1, code)
		require.Contains(t, errOut, "name it .parquet, .csv, .jsonl, .arrow or .arrows")
		code, _, errOut = runBinary(t, "export", src, filepath.Join(dir, "x.csv"), "-compression", "zstd")
		require.Equal(t, 1, code)
		require.Contains(t, errOut, "for Parquet")
		bad := filepath.Join(dir, "bad.csv")
		require.NoError(t, os.WriteFile(bad, []byte("ID,Price,Sym,Note,Tag\n1,x,AB,,74300000\n"), 0o644))
		dst := filepath.Join(dir, "copy")
		require.NoError(t, os.CopyFS(dst, os.DirFS(src)))
		code, _, errOut = runBinary(t, "import", dst, bad)
		require.Equal(t, 1, code)
		require.Contains(t, errOut, `column "Price", record 1`)
		require.Equal(t, want, tradesIn(t, dst))
		code, _, errOut = runBinary(t, "import", dst, filepath.Join(dir, "rows.jsonl"))
		require.Equal(t, 1, code)
		require.Contains(t, errOut, "name it .parquet or .csv")
		code, _, errOut = runBinary(t, "import", dst, filepath.Join(dir, "missing.parquet"))
		require.Equal(t, 1, code)
		require.Contains(t, errOut, "no such file")
	})
}

func TestInfoCheckJSON(t *testing.T) {
	dir := newTrades(t, 10)
	code, out, errOut := runBinary(t, "info", dir, "--json")
	require.Equal(t, 0, code, errOut)
	var info struct {
		Rows    int
		Writer  *struct{ PID int }
		Columns []struct {
			Name, Type string
			ElemSize   int `json:"elem_size"`
		}
		Manifest struct {
			RowSize int `json:"row_size"`
		}
	}
	require.NoError(t, json.Unmarshal([]byte(out), &info), out)
	require.Equal(t, 10, info.Rows)
	require.Nil(t, info.Writer)
	require.Len(t, info.Columns, 5)
	require.Equal(t, "table.Symbol", info.Columns[2].Type)
	require.Equal(t, 16, info.Columns[3].ElemSize)

	code, out, errOut = runBinary(t, "check", dir, "--json")
	require.Equal(t, 0, code, errOut)
	var rep struct {
		OK       bool
		Rows     int
		Problems []struct{ File, Kind, Message string }
	}
	require.NoError(t, json.Unmarshal([]byte(out), &rep), out)
	require.True(t, rep.OK)
	require.Equal(t, 10, rep.Rows)
	require.Empty(t, rep.Problems)

	require.NoError(t, os.WriteFile(filepath.Join(dir, "stray.txt"), []byte("x"), 0o644))
	code, out, _ = runBinary(t, "check", dir, "-json")
	require.Equal(t, 1, code)
	require.NoError(t, json.Unmarshal([]byte(out), &rep), out)
	require.False(t, rep.OK)
	require.Len(t, rep.Problems, 1)
	require.Equal(t, "stray.txt", rep.Problems[0].File)
	require.Equal(t, "corrupt", rep.Problems[0].Kind)
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// TestLiveExport exports, as its own process, a table that a writer in
// another process keeps appending to: a prefix of whole rows.
func TestLiveExport(t *testing.T) {
	dir, _ := startWriter(t, false)
	file := filepath.Join(t.TempDir(), "live.csv")
	code, out, errOut := runBinary(t, "export", dir, file)
	require.Equal(t, 0, code, errOut)
	t.Logf("%s", out)
	f, err := os.Open(file)
	require.NoError(t, err)
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	require.Equal(t, []string{"N", "Half", "Name", "Tags.0", "Tags.1", "Tags.2"}, recs[0])
	require.GreaterOrEqual(t, len(recs)-1, 1000)
	for i, rec := range recs[1:] {
		want := liveRowOf(int64(i))
		half := strconv.FormatFloat(want.Half, 'g', -1, 64)
		if !strings.Contains(half, ".") {
			half += ".0" // a float keeps its point in CSV
		}
		require.Equal(t, []string{strconv.Itoa(i), half, hex.EncodeToString(want.Name[:]),
			strconv.Itoa(int(want.Tags[0])), strconv.Itoa(int(want.Tags[1])), strconv.Itoa(int(want.Tags[2]))}, rec, "row %d", i)
	}
}

// TestImportIntoEmptyDir: a directory made beforehand, empty, takes the
// new table.
func TestImportIntoEmptyDir(t *testing.T) {
	src := newTrades(t, 40)
	file := filepath.Join(t.TempDir(), "trades.parquet")
	code, _, errOut := runBinary(t, "export", src, file)
	require.Equal(t, 0, code, errOut)
	dst := t.TempDir()
	code, out, errOut := runBinary(t, "import", dst, file)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "imported 40 rows")
	require.Equal(t, tradesIn(t, src), tradesIn(t, dst))
}

// TestExportArrow: an Arrow IPC file and an IPC stream of a table, read
// back with arrow-go's readers, hold its rows.
func TestExportArrow(t *testing.T) {
	src := newTrades(t, 100)
	dir := t.TempDir()
	check := func(t *testing.T, rec arrow.RecordBatch, at int) {
		ids := rec.Column(int(rec.Schema().FieldIndices("ID")[0])).(*array.Int64)
		notes := rec.Column(int(rec.Schema().FieldIndices("Note")[0])).(*array.String)
		for i := range int(rec.NumRows()) {
			want := tradeOf(at + i)
			require.Equal(t, want.ID, ids.Value(i))
			require.Equal(t, want.Note, notes.Value(i))
		}
	}
	t.Run("file", func(t *testing.T) {
		file := filepath.Join(dir, "trades.arrow")
		code, out, errOut := runBinary(t, "export", src, file)
		require.Equal(t, 0, code, errOut)
		require.Contains(t, out, "exported 100 rows")
		f, err := os.Open(file)
		require.NoError(t, err)
		defer f.Close()
		r, err := ipc.NewFileReader(f)
		require.NoError(t, err)
		defer r.Close()
		at := 0
		for i := range r.NumRecords() {
			rec, err := r.RecordBatch(i)
			require.NoError(t, err)
			check(t, rec, at)
			at += int(rec.NumRows())
		}
		require.Equal(t, 100, at)
	})
	t.Run("stream", func(t *testing.T) {
		code, out, errOut := runBinary(t, "export", src, "-", "-format", "arrows")
		require.Equal(t, 0, code, errOut)
		r, err := ipc.NewReader(strings.NewReader(out))
		require.NoError(t, err)
		defer r.Release()
		at := 0
		for r.Next() {
			check(t, r.RecordBatch(), at)
			at += int(r.RecordBatch().NumRows())
		}
		require.NoError(t, r.Err())
		require.Equal(t, 100, at)
	})
}
