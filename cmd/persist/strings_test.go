package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence/table"
)

type page struct {
	ID      int64
	URL     string
	Country table.Symbol
	Body    []byte
}

func TestHeadInfoCompactStrings(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t")
	tb, err := table.Open[page](dir, nil)
	require.NoError(t, err)
	for i := range 1000 {
		p := page{ID: int64(i), URL: fmt.Sprintf("https://example.com/p/%d", i), Country: table.Symbol([]string{"DE", "FR"}[i%2])}
		switch i {
		case 1:
			p.Body = []byte{0xff, 0x00, 0x01}
		case 3:
			p.URL = "tab\there"
		case 5:
			p.URL = strings.Repeat("x", 100)
		}
		require.NoError(t, tb.Append(p))
	}
	for i := 0; i < 1000; i += 2 {
		require.NoError(t, tb.SetRow(i, page{ID: int64(i), URL: "changed", Country: "NL"}))
	}
	require.NoError(t, tb.Close())

	code, out, errOut := runCLI("head", dir, "-n", "2")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "https://example.com/p/1")
	require.Contains(t, out, "changed")
	require.Contains(t, out, "NL")
	require.Contains(t, out, "FR")
	require.Contains(t, out, "0xff0001", "bytes that are not text in hex")
	require.Contains(t, out, `""`, "an empty value")

	code, out, _ = runCLI("head", dir, "-n", "6")
	require.Equal(t, 0, code)
	require.Contains(t, out, `"tab\there"`, "a tab is quoted, so that columns stay aligned")
	require.Contains(t, out, strings.Repeat("x", 64)+"...+36B", "a long value is cut short")

	code, out, errOut = runCLI("info", dir)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "table.Symbol")
	require.Contains(t, out, "[]byte")
	require.Regexp(t, `create +#2 +URL +string`, out)

	code, out, errOut = runCLI("compact", dir)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "compacted "+dir+": 1000 rows")
	code, _, errOut = runCLI("check", dir)
	require.Equal(t, 0, code, errOut)

	tb, err = table.Open[page](dir, nil)
	require.NoError(t, err)
	defer tb.Close()
	require.Equal(t, page{ID: 2, URL: "changed", Country: "NL"}, tb.Row(2))
	require.Equal(t, page{ID: 1, URL: "https://example.com/p/1", Country: "FR", Body: []byte{0xff, 0, 1}}, tb.Row(1))
}
