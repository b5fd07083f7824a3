package main

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence"
	"github.com/mmapvec/persistence/table"
)

type pair struct {
	X int8
	Y uint16
}

// rich has a column of every kind head decodes.
type rich struct {
	I    int32
	U    uint64
	F32  float32
	F64  float64
	B    bool
	C64  complex64
	C128 complex128
	Arr  [3]int16
	In   pair `persist:"in"`
	Name [8]byte
	Raw  [4]byte
	Pts  [2]pair
	Grid [2][2]int8
	Long [20]uint32
	Word [2]string8
}

type string8 [3]uint8

func richRow(i int) rich {
	r := rich{I: int32(-i), U: math.MaxUint64 - uint64(i), F32: 0.1 * float32(i), F64: 1.0 / 3 * float64(i), B: i%2 == 1,
		C64: complex(float32(i), -2), C128: complex(0.5, 1e100),
		Arr: [3]int16{1, int16(-i), 3}, In: pair{X: -1, Y: 65535}, Raw: [4]byte{0xff, 0, 1, byte(i)},
		Pts: [2]pair{{1, 2}, {3, uint16(i)}}, Grid: [2][2]int8{{1, 2}, {3, int8(i)}}, Word: [2]string8{{'a', 'b'}, {0xff}}}
	copy(r.Name[:], fmt.Sprintf("row-%d", i))
	for j := range r.Long {
		r.Long[j] = uint32(j)
	}
	return r
}

func TestHeadFormatsEveryKind(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "rich")
	tb, err := table.Open[rich](dir, nil)
	require.NoError(t, err)
	for i := range 12 {
		require.NoError(t, tb.Append(richRow(i)))
	}
	require.NoError(t, tb.Close())

	code, out, errOut := runCLI("tail", "-n", "2", dir)
	require.Equal(t, 0, code, errOut)
	t.Logf("\n%s", out)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.Len(t, lines, 4, "header, the count, 2 rows")
	require.Equal(t, []string{"#", "I", "U", "F32", "F64", "B", "C64", "C128", "Arr", "in", "Name", "Raw", "Pts", "Grid", "Long", "Word"},
		strings.Fields(lines[0]))
	require.True(t, strings.HasPrefix(lines[1], "... "), lines[1])
	require.Contains(t, lines[1], "(12 rows)")
	require.True(t, strings.HasPrefix(lines[2], "10 "), lines[2])

	row11 := []string{"11", "-11", "18446744073709551604", "1.1", "3.6666666666666665", "true", "(11-2i)", "(0.5+1e+100i)",
		"[1 -11 3]", "{-1 65535}", `"row-11"`, "0xff00010b", "[{1 2} {3 11}]", "[[1 2] [3 11]]",
		"[0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 ...+4]", `["ab" 0xff0000]`}
	requireAligned(t, lines[0], lines[3], row11)
	row0 := []string{"0", "0", "18446744073709551615", "0", "0", "false", "(0-2i)", "(0.5+1e+100i)",
		"[1 0 3]", "{-1 65535}", `"row-0"`, "0xff000100", "[{1 2} {3 0}]", "[[1 2] [3 0]]",
		"[0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 ...+4]", `["ab" 0xff0000]`}
	code, out, errOut = runCLI("head", "-n", "2", dir)
	require.Equal(t, 0, code, errOut)
	lines = strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.Len(t, lines, 4, "header, 2 rows, the count")
	require.True(t, strings.HasPrefix(lines[2], "1 "), lines[2])
	require.Regexp(t, `^\.\.\.\s+\(12 rows\)$`, lines[3])
	requireAligned(t, lines[0], lines[1], row0)

	// The flag goes after the directory as well; -n 0 shows the count.
	code, out, _ = runCLI("head", dir, "-n", "0")
	require.Equal(t, 0, code)
	require.Regexp(t, `^#\s+I .*\n\.\.\.\s+\(12 rows\)\n$`, out, "no spaces end a line")
	code, out, _ = runCLI("head", dir, "-n=12")
	require.Equal(t, 0, code)
	require.Len(t, strings.Split(strings.TrimSuffix(out, "\n"), "\n"), 13, "every row, no count line")
	require.NotContains(t, out, "...  (")
	code, out, _ = runCLI("head", dir)
	require.Equal(t, 0, code)
	require.Len(t, strings.Split(strings.TrimSuffix(out, "\n"), "\n"), 12, "10 rows by default, and the count")
}

// requireAligned checks that each value of a row line starts where its
// column's name starts in the header.
func requireAligned(t *testing.T, header, line string, values []string) {
	t.Helper()
	at := 0
	for i, name := range strings.Fields(header) {
		col := strings.Index(header[at:], name) + at
		at = col + len(name)
		require.True(t, strings.HasPrefix(line[col:]+" ", values[i]+" "), "column %s: want %s at %d in %q", name, values[i], col, line)
	}
}

func TestShapes(t *testing.T) {
	for _, c := range []struct {
		layout persistence.Layout
		elem   []byte
		want   string
	}{
		{persistence.Layout{Size: 2, Leaves: []persistence.Leaf{{Path: "", Kind: "int16", Size: 2}}}, []byte{0xff, 0xff}, "-1"},
		{persistence.Layout{Size: 4, Leaves: []persistence.Leaf{{Path: "._0", Kind: "uint8", Size: 1}, {Path: "B", Kind: "bool", Offset: 1, Size: 1}}},
			[]byte{7, 2}, "{7 true}"},
		{persistence.Layout{Size: 3, Leaves: []persistence.Leaf{{Path: "[]", Kind: "uint8", Size: 1, Dims: []persistence.Dim{{Count: 3, Stride: 1}}}}},
			[]byte("hi\x00"), `"hi"`},
		{persistence.Layout{Size: 3, Leaves: []persistence.Leaf{{Path: "[]", Kind: "uint8", Size: 1, Dims: []persistence.Dim{{Count: 3, Stride: 1}}}}},
			[]byte("\x00hi"), "0x006869"}, // bytes after a NUL are not padding
		{persistence.Layout{Size: 3, Leaves: []persistence.Leaf{{Path: "[]", Kind: "uint8", Size: 1, Dims: []persistence.Dim{{Count: 3, Stride: 1}}}}},
			[]byte("\x00\x00\x00"), `""`},
		{persistence.Layout{Size: 3, Leaves: []persistence.Leaf{{Path: "[]", Kind: "uint8", Size: 1, Dims: []persistence.Dim{{Count: 3, Stride: 1}}}}},
			[]byte("a\nb"), "0x610a62"},
		// Leaves that describe no shape: the bytes in hex.
		{persistence.Layout{Size: 2, Leaves: []persistence.Leaf{{Path: "A", Kind: "int8", Size: 1}, {Path: "A", Kind: "int8", Offset: 1, Size: 1}}},
			[]byte{1, 2}, "0x0102"},
		{persistence.Layout{Size: 2, Leaves: []persistence.Leaf{{Path: "[]", Kind: "int8", Size: 1}}}, []byte{1, 2}, "0x0102"},
	} {
		s, _ := shapeOf(c.layout)
		require.Equal(t, c.want, format(s, c.elem), "%s", c.layout)
	}
	require.Equal(t, "0x"+strings.Repeat("00", maxBytes)+"...+1B", hexBytes(make([]byte, maxBytes+1)))
	require.Equal(t, `"`+strings.Repeat("é", maxBytes/2)+`"...`, byteString([]byte(strings.Repeat("é", maxBytes))))
}
