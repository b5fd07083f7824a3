package ingest

import (
	"encoding/binary"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
)

// CSV imports the CSV file r (RFC 4180, a header of column names first)
// into the table in dir, creating it if dir does not exist (see the
// package doc). Values are read in the forms the export package writes:
// integers and floats as Go parses them, bools as strconv.ParseBool
// does, []byte and [N]byte as hex. r is read twice into an existing
// table (once to check it, once to append), so it must be a file or
// another io.ReadSeeker. It returns the rows appended. A carriage return
// before a newline is dropped, inside quotes too (encoding/csv): a value
// holding "\r\n" comes in as "\n" (see [export.CSV]).
func CSV(dir string, r io.ReadSeeker, opts *Options) (int, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	start, err := r.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0, err
	}
	cr := newCSVReader(r)
	header, err := cr.Read()
	if err != nil {
		return 0, csvError(err)
	}
	// The first batch decides a new table's types.
	var first [][]string
	for len(first) < inferRows {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, csvError(err)
		}
		first = append(first, rec)
	}
	cols := make([]fileCol, len(header))
	for i, name := range header {
		cols[i] = inferCSV(name, first, i)
		cols[i].text = true
	}
	return run(dir, cols, nil, &o, -1, func(p *plan, s *sink) error {
		if _, err := r.Seek(start, io.SeekStart); err != nil {
			return err
		}
		cr := newCSVReader(r)
		if _, err := cr.Read(); err != nil {
			return csvError(err)
		}
		return readCSV(cr, p, s, o.batch(cols))
	})
}

func newCSVReader(r io.Reader) *csv.Reader {
	cr := csv.NewReader(r)
	cr.ReuseRecord = false
	return cr
}

// inferRows is the records whose values decide a new table's column types.
const inferRows = 10000

// csvError wraps a reader's error (bad quoting, a record of another
// length than the header's) as bad input.
func csvError(err error) error {
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: no header", ErrInput)
	}
	return fmt.Errorf("%w: %w", ErrInput, err)
}

// inferCSV picks the type of column i of a new table from the records.
func inferCSV(name string, recs [][]string, i int) fileCol {
	all := func(ok func(string) bool) bool {
		for _, r := range recs {
			if !ok(r[i]) {
				return false
			}
		}
		return len(recs) > 0
	}
	switch {
	case all(func(s string) bool { _, err := strconv.ParseInt(s, 10, 64); return err == nil }):
		return fileCol{name: name, kind: "int64", size: 8}
	case all(func(s string) bool { _, err := strconv.ParseUint(s, 10, 64); return err == nil }):
		return fileCol{name: name, kind: "uint64", size: 8}
	case all(func(s string) bool { _, err := strconv.ParseFloat(s, 64); return err == nil }):
		return fileCol{name: name, kind: "float64", size: 8}
	case all(func(s string) bool { _, err := strconv.ParseBool(s); return err == nil }):
		return fileCol{name: name, kind: "bool", size: 1}
	}
	return fileCol{name: name, kind: "string"}
}

// readCSV reads the records after the header in batches. The pass that
// checks the input (s without an Appender) goes on past a value that does
// not parse, to report the first such value of every column.
func readCSV(cr *csv.Reader, p *plan, s *sink, batchRows int) (err error) {
	bs := [2]*batch{newBatch(p, batchRows), newBatch(p, batchRows)}
	turn := 0
	recs := make([][]string, 0, batchRows)
	done := 0
	checking := s.a == nil
	bad := make([]error, len(p.leaves))
	defer func() {
		err = errors.Join(append(slices.DeleteFunc(bad, func(e error) bool { return e == nil }), err)...)
	}()
	for {
		recs = recs[:0]
		var readErr error
		for len(recs) < batchRows {
			rec, err := cr.Read()
			if err != nil {
				readErr = err
				break
			}
			recs = append(recs, rec)
		}
		if readErr != nil && !errors.Is(readErr, io.EOF) {
			return csvError(readErr)
		}
		if len(recs) > 0 {
			b := bs[turn%2]
			turn++
			b.reset(len(recs))
			for k := range p.leaves {
				if bad[k] != nil {
					continue
				}
				for i, rec := range recs {
					if err := b.setText(k, i, rec[p.src[k]]); err != nil {
						l := &p.leaves[k]
						bad[k] = fmt.Errorf("%w: column %q, record %d: %q is no %s: %w",
							ErrInput, l.Name, done+i+1, short(rec[p.src[k]]), fileCol{kind: l.Kind, size: l.Size}.typeName(), err)
						if !checking {
							return nil // bad[k] is the error, joined on return
						}
						break
					}
				}
			}
			if slices.ContainsFunc(bad, func(e error) bool { return e != nil }) {
				// The batch is not whole: only the checking pass gets
				// here, and reads on for the other columns.
			} else if err := s.put(b); err != nil {
				return err
			}
			done += len(recs)
		}
		if readErr != nil {
			return nil
		}
	}
}

// setText parses text into leaf k of row i.
func (b *batch) setText(k, i int, text string) error {
	l := &b.p.leaves[k]
	switch l.Kind {
	case "string", "symbol":
		b.setValue(k, i, text)
	case "bytes":
		v, err := hex.DecodeString(text)
		if err != nil {
			return err
		}
		b.setValue(k, i, string(v))
	case "fixed":
		v, err := hex.DecodeString(text)
		if err != nil {
			return err
		}
		if len(v) != l.Size {
			return fmt.Errorf("%d bytes for [%d]byte", len(v), l.Size)
		}
		copy(b.at(k, i), v)
	case "bool":
		v, err := strconv.ParseBool(text)
		if err != nil {
			return err
		}
		if v {
			b.at(k, i)[0] = 1
		}
	case "float32":
		v, err := strconv.ParseFloat(text, 32)
		if err != nil {
			return err
		}
		binary.NativeEndian.PutUint32(b.at(k, i), math.Float32bits(float32(v)))
	case "float64":
		v, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return err
		}
		binary.NativeEndian.PutUint64(b.at(k, i), math.Float64bits(v))
	case "uint64":
		v, err := strconv.ParseUint(text, 10, 64)
		if err != nil {
			return err
		}
		binary.NativeEndian.PutUint64(b.at(k, i), v)
	default:
		v, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return err
		}
		return putInt(b.at(k, i), l.Kind, v)
	}
	return nil
}

// short cuts a value quoted in an error.
func short(v string) string {
	if len(v) > 40 {
		return v[:40] + "..."
	}
	return v
}
