//go:build cgo

package main

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSQL(t *testing.T) {
	trades := newTrades(t, 300)
	other := newTrades(t, 30)
	code, out, errOut := runBinary(t, "sql", "SELECT Sym, count(*) AS n, sum(Price) AS total FROM trades GROUP BY ALL ORDER BY 1", "trades="+trades)
	require.Equal(t, 0, code, errOut)
	want := 0.0
	for i := 0; i < 300; i += 3 {
		want += tradeOf(i).Price
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 4, out)
	require.Regexp(t, `^Sym\s+n\s+total$`, lines[0])
	require.Regexp(t, `^AB\s+100\s+`+strings.ReplaceAll(strings.TrimRight(strings.TrimRight(ftoa(want), "0"), "."), ".", `\.`)+`$`, lines[1])

	code, out, errOut = runBinary(t, "sql", "--csv", "SELECT x.n AS a, y.n AS b, x.note FROM (SELECT count(*) AS n, max(Note) AS note FROM a) x, (SELECT count(*) AS n FROM b) y", "a="+trades, "b="+other)
	require.Equal(t, 0, code, errOut)
	require.Equal(t, "a,b,note\n300,30,nnnn\n", out)

	code, _, errOut = runBinary(t, "sql", "SELECT * FROM nope", "trades="+trades)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "nope")
	code, _, errOut = runBinary(t, "sql", "SELECT 1", trades)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "NAME=DIR")
	code, _, errOut = runBinary(t, "sql", "SELECT count(*) FROM t", "t="+trades, "T="+other)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "given twice")
}

// TestLiveSQL queries, as its own process, a table that a writer in
// another process keeps appending to: the rows of one published count.
func TestLiveSQL(t *testing.T) {
	dir, _ := startWriter(t, false)
	for range 3 {
		code, out, errOut := runBinary(t, "sql", "--csv", "SELECT count(*), min(N), max(N), sum(N) - 2 * sum(Half) FROM t", "t="+dir)
		require.Equal(t, 0, code, errOut)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		require.Len(t, lines, 2, out)
		f := strings.Split(lines[1], ",")
		n, err := strconv.Atoi(f[0])
		require.NoError(t, err)
		require.GreaterOrEqual(t, n, 1000)
		require.Equal(t, []string{"0", strconv.Itoa(n - 1), "0"}, f[1:], "rows 0..n-1, each whole")
	}
}
