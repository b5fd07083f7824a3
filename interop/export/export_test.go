package export_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence/interop/export"
	"github.com/mmapvec/persistence/table"
)

// every has a column of each type a table stores.
type every struct {
	B      bool
	I8     int8
	I16    int16
	I32    int32
	I64    int64
	I      int
	U8     uint8
	U16    uint16
	U32    uint32
	U64    uint64
	F32    float32
	F64    float64
	Tag    [6]byte
	Pos    [3]float32
	Nested struct {
		A int16
		B [2]uint32
	}
	S    string
	Land table.Symbol
	Body []byte
}

func mkEvery(i int) every {
	e := every{B: i%3 == 0, I8: int8(i), I16: int16(i * 7), I32: int32(i * 1001), I64: int64(i) * -123456789,
		I: i - 500_000, U8: uint8(i), U16: uint16(i * 3), U32: uint32(i) * 4000, U64: uint64(i) * 1e13,
		F32: float32(i) / 8, F64: float64(i) * 1.5, Tag: [6]byte{'t', byte('a' + i%26)},
		Pos: [3]float32{float32(i), -float32(i), 0.5}, S: "s" + strconv.Itoa(i%1000),
		Land: table.Symbol([]string{"", "DE", "FR", "US"}[i%4])}
	e.Nested.A = int16(-i)
	e.Nested.B = [2]uint32{uint32(i), math.MaxUint32 - uint32(i)}
	if i%5 != 0 {
		e.Body = []byte{byte(i), byte(i >> 8)}
	}
	return e
}

func newEvery(t testing.TB, dir string, n int) {
	tb, err := table.Open[every](dir, nil)
	require.NoError(t, err)
	batch := make([]every, 0, 65536)
	for i := range n {
		batch = append(batch, mkEvery(i))
		if len(batch) == cap(batch) || i == n-1 {
			require.NoError(t, tb.AppendRows(batch))
			batch = batch[:0]
		}
	}
	require.NoError(t, tb.Close())
}

func openAny(t testing.TB, dir string) *table.Table[table.Any] {
	tb, err := table.Open[table.Any](dir, &table.Options{ReadOnly: true})
	require.NoError(t, err)
	t.Cleanup(func() { tb.Close() })
	return tb
}

func TestJSONLinesAndCSV(t *testing.T) {
	dir := t.TempDir()
	newEvery(t, filepath.Join(dir, "t"), 100)
	tb := openAny(t, filepath.Join(dir, "t"))
	var js, cs strings.Builder
	n, err := export.JSONLines(tb, &js, nil)
	require.NoError(t, err)
	require.Equal(t, 100, n)
	lines := strings.Split(strings.TrimSuffix(js.String(), "\n"), "\n")
	require.Len(t, lines, 100)
	var row struct {
		I64   int64
		U64   uint64
		F32   float32
		Tag   []byte
		Body  []byte
		S     string
		Land  string
		Pos1  float32 `json:"Pos.1"`
		NestB uint32  `json:"Nested.B.1"`
		B     bool
	}
	require.NoError(t, json.Unmarshal([]byte(lines[7]), &row))
	e := mkEvery(7)
	require.Equal(t, e.I64, row.I64)
	require.Equal(t, e.U64, row.U64)
	require.Equal(t, e.F32, row.F32)
	require.Equal(t, e.Tag[:], row.Tag)
	require.Equal(t, e.Body, row.Body)
	require.Equal(t, e.S, row.S)
	require.Equal(t, string(e.Land), row.Land)
	require.Equal(t, e.Pos[1], row.Pos1)
	require.Equal(t, e.Nested.B[1], row.NestB)
	require.Equal(t, e.B, row.B)

	n, err = export.CSV(tb, &cs, &export.Options{Rows: 10})
	require.NoError(t, err)
	require.Equal(t, 10, n)
	recs, err := csv.NewReader(strings.NewReader(cs.String())).ReadAll()
	require.NoError(t, err)
	require.Len(t, recs, 11)
	require.Equal(t, "Tag", recs[0][12])
	require.Equal(t, "746400000000", recs[4][12]) // row 3: 't', 'a'+3
}

func TestParquetCompressions(t *testing.T) {
	dir := t.TempDir()
	newEvery(t, filepath.Join(dir, "t"), 3000)
	tb := openAny(t, filepath.Join(dir, "t"))
	for _, c := range []struct{ option, codec string }{{"", "SNAPPY"}, {"snappy", "SNAPPY"}, {"zstd", "ZSTD"}, {"gzip", "GZIP"}, {"lz4", "LZ4_RAW"}, {"brotli", "BROTLI"}, {"none", "UNCOMPRESSED"}} {
		var b bytes.Buffer
		n, err := export.Parquet(tb, &b, &export.Options{Compression: c.option})
		require.NoError(t, err)
		require.Equal(t, 3000, n)
		f, err := parquet.OpenFile(bytes.NewReader(b.Bytes()), int64(b.Len()))
		require.NoError(t, err)
		require.EqualValues(t, 3000, f.NumRows())
		for _, rg := range f.Metadata().RowGroups {
			for _, cc := range rg.Columns {
				require.Equal(t, c.codec, cc.MetaData.Codec.String(), "compression %q", c.option)
				// A symbol column is dictionary-encoded; a string column is not.
				switch cc.MetaData.PathInSchema[0] {
				case "Land":
					require.Contains(t, cc.MetaData.Encoding, format.RLEDictionary)
				case "S":
					require.NotContains(t, cc.MetaData.Encoding, format.RLEDictionary)
				}
			}
		}
	}
	_, err := export.Parquet(tb, io.Discard, &export.Options{Compression: "lzma"})
	require.ErrorIs(t, err, export.ErrOption)
}

func TestEmptyTable(t *testing.T) {
	dir := t.TempDir()
	newEvery(t, filepath.Join(dir, "t"), 0)
	tb := openAny(t, filepath.Join(dir, "t"))
	var b bytes.Buffer
	n, err := export.Parquet(tb, &b, nil)
	require.NoError(t, err)
	require.Zero(t, n)
	f, err := parquet.OpenFile(bytes.NewReader(b.Bytes()), int64(b.Len()))
	require.NoError(t, err)
	require.Zero(t, f.NumRows())
	require.Len(t, f.Schema().Fields(), 22)
	n, err = export.ParquetDir(tb, filepath.Join(dir, "parts"), &export.Options{PartitionBy: "Land"})
	require.NoError(t, err)
	require.Zero(t, n)
	require.DirExists(t, filepath.Join(dir, "parts"))
	var c strings.Builder
	_, err = export.CSV(tb, &c, nil)
	require.NoError(t, err)
	require.Equal(t, 1, strings.Count(c.String(), "\n"))
}
