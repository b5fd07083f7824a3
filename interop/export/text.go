package export

import (
	"bufio"
	"cmp"
	"encoding/base64"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/mmapvec/persistence/table"
)

// CSV writes the table's rows to w as CSV (RFC 4180): a header of the
// leaves' names (see [Leaves]), then a record per row. Integers are
// written in decimal, floats as Go prints them (reading back to the same
// bits) but always with a decimal point or an exponent (1.0, not 1, so
// that a float column reads back as floats), bools as true and false,
// strings and symbols as they are, and
// []byte and [N]byte as lower-case hex. The rows are a prefix of the
// table, as in [Parquet]. CSV has no escape for a carriage return, and
// readers built on Go's encoding/csv (the ingest package's among them)
// drop one before a newline, inside quotes too: a string holding "\r\n"
// reads back as "\n". Parquet and JSON Lines keep every byte.
func CSV[R any](t *table.Table[R], w io.Writer, opts *Options) (int, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	src, err := newSource(t, o.rows())
	if err != nil {
		return 0, err
	}
	// csv.Writer writes through bw itself (bufio.NewWriter returns a
	// large enough bufio.Writer as it is), so a line written to bw
	// directly lands in order.
	bw := bufio.NewWriter(w)
	cw := csv.NewWriter(bw)
	rec := make([]string, len(src.leaves))
	for k, l := range src.leaves {
		rec[k] = l.Name
	}
	if err := cw.Write(rec); err != nil {
		return 0, fmt.Errorf("export: %w", err)
	}
	var buf []byte
	for i := range src.rows {
		for k := range src.leaves {
			buf = src.appendText(buf[:0], &src.leaves[k], i)
			rec[k] = string(buf)
		}
		var err error
		if len(rec) == 1 && rec[0] == "" {
			// A record of one empty field would be an empty line, which
			// a CSV reader skips: quote it.
			_, err = bw.WriteString("\"\"\n")
		} else {
			err = cw.Write(rec)
		}
		if err != nil {
			return i, fmt.Errorf("export: %w", err)
		}
		if (i+1)%block == 0 {
			if err := src.failed(); err != nil {
				return i, err
			}
			if o.Progress != nil {
				o.Progress(i+1, src.rows)
			}
		}
	}
	cw.Flush()
	if err := cmp.Or(cw.Error(), bw.Flush()); err != nil {
		return src.rows, fmt.Errorf("export: %w", err)
	}
	return src.rows, src.failed()
}

// JSONLines writes the table's rows to w as JSON Lines: one object per
// row, its keys the leaves' names in column order. Numbers are JSON
// numbers (a float64 reads back to the same bits; NaN and the infinities,
// which JSON lacks, as the strings "NaN", "+Inf", "-Inf"), bools are
// true and false, strings and symbols are strings (invalid UTF-8 replaced,
// as encoding/json does), and []byte and [N]byte are base64 strings, as
// encoding/json writes a []byte.
func JSONLines[R any](t *table.Table[R], w io.Writer, opts *Options) (int, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	src, err := newSource(t, o.rows())
	if err != nil {
		return 0, err
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	keys := make([][]byte, len(src.leaves))
	for k, l := range src.leaves {
		keys[k] = appendJSONString(nil, []byte(l.Name))
	}
	var line []byte
	for i := range src.rows {
		line = append(line[:0], '{')
		for k := range src.leaves {
			l := &src.leaves[k]
			if k > 0 {
				line = append(line, ',')
			}
			line = append(append(line, keys[k]...), ':')
			switch l.Kind {
			case "string", "symbol":
				line = appendJSONString(line, src.value(l, i))
			case "bytes", "fixed":
				b := src.fixed
				if l.Kind == "bytes" {
					b = src.value
				}
				line = append(line, '"')
				line = base64.StdEncoding.AppendEncode(line, b(l, i))
				line = append(line, '"')
			case "float32", "float64":
				bits := 64
				if l.Kind == "float32" {
					bits = 32
				}
				f := src.float64(l, i)
				if math.IsNaN(f) || math.IsInf(f, 0) {
					line = strconv.AppendQuote(line, strconv.FormatFloat(f, 'g', -1, bits))
				} else {
					line = strconv.AppendFloat(line, f, 'g', -1, bits)
				}
			default:
				line = src.appendText(line, l, i)
			}
		}
		line = append(line, '}', '\n')
		if _, err := bw.Write(line); err != nil {
			return i, fmt.Errorf("export: %w", err)
		}
		if (i+1)%block == 0 {
			if err := src.failed(); err != nil {
				return i, err
			}
			if o.Progress != nil {
				o.Progress(i+1, src.rows)
			}
		}
	}
	if err := bw.Flush(); err != nil {
		return src.rows, fmt.Errorf("export: %w", err)
	}
	return src.rows, src.failed()
}

// appendJSONString appends s as a JSON string.
func appendJSONString(dst, s []byte) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for len(s) > 0 {
		r, size := utf8.DecodeRune(s)
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, `\ufffd`...)
		case r == '"' || r == '\\':
			dst = append(dst, '\\', byte(r))
		case r < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hex[r>>4], hex[r&15])
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, `\u202`...)
			dst = append(dst, hex[r&15])
		default:
			dst = append(dst, s[:size]...)
		}
		s = s[size:]
	}
	return append(dst, '"')
}
