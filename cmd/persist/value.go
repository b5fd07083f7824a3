package main

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/mmapvec/persistence"
	"github.com/mmapvec/persistence/internal/layout"
)

// A column's element is decoded by the layout its manifest records: the
// leaves' paths ("Pos.X", "Hist[].Count") give the shape, a tree of
// structs, arrays and scalars, and each leaf its kind and place.

// Limits that keep a wide element on one readable line.
const (
	maxItems = 16 // array items shown; the rest are counted
	maxBytes = 64 // bytes of a byte string or hex shown
)

type shape struct {
	// A scalar: kind is the leaf's Go kind and off its offset in the
	// element (of the first item of every enclosing array).
	kind      string
	off, size int
	// An array: count items of elem, stride bytes apart.
	elem          *shape
	count, stride int
	// A struct: its fields in order.
	fields []field
}

type field struct {
	name  string
	shape *shape
}

func (s *shape) isStruct() bool { return s.fields != nil }

// shapeOf builds the shape of a layout, or fails if its leaves do not
// describe one (the value is then shown in hex).
func shapeOf(l persistence.Layout) (*shape, error) {
	var root *shape
	for _, leaf := range l.Leaves {
		cur, dims := &root, leaf.Dims
		for _, tok := range pathTokens(leaf.Path) {
			if tok == "[]" {
				if len(dims) == 0 {
					return nil, fmt.Errorf("leaf %q: more array levels than dims", leaf.Path)
				}
				if *cur == nil {
					*cur = &shape{count: dims[0].Count, stride: dims[0].Stride}
				}
				a := *cur
				if a.isStruct() || a.kind != "" || a.count != dims[0].Count || a.stride != dims[0].Stride {
					return nil, fmt.Errorf("leaf %q: not the array of the leaves before it", leaf.Path)
				}
				dims = dims[1:]
				cur = &a.elem
				continue
			}
			if *cur == nil {
				*cur = &shape{fields: []field{}}
			}
			if !(*cur).isStruct() {
				return nil, fmt.Errorf("leaf %q: a field of a non-struct", leaf.Path)
			}
			fs := &(*cur).fields
			if n := len(*fs); n == 0 || (*fs)[n-1].name != tok {
				*fs = append(*fs, field{name: tok})
			}
			cur = &(*fs)[len(*fs)-1].shape
		}
		if *cur != nil || len(dims) != 0 {
			return nil, fmt.Errorf("leaf %q: repeats a place or misses array levels", leaf.Path)
		}
		*cur = &shape{kind: leaf.Kind, off: leaf.Offset, size: leaf.Size}
	}
	if root == nil {
		return nil, fmt.Errorf("no leaves")
	}
	return root, nil
}

// pathTokens splits a leaf path into field names and "[]" array levels.
func pathTokens(path string) []string {
	var toks []string
	for _, part := range strings.Split(path, ".") {
		name := strings.TrimRight(part, "[]")
		if name != "" {
			toks = append(toks, name)
		}
		for range (len(part) - len(name)) / 2 {
			toks = append(toks, "[]")
		}
	}
	return toks
}

// format renders an element's bytes: by its shape, or in hex without one.
func format(s *shape, b []byte) string {
	if s == nil {
		return hexBytes(b)
	}
	var w strings.Builder
	s.write(&w, b, 0)
	return w.String()
}

// write renders the value at adj, the byte distance of the enclosing
// arrays' items from their first.
func (s *shape) write(w *strings.Builder, b []byte, adj int) {
	switch {
	case s.isStruct():
		w.WriteByte('{')
		for i, f := range s.fields {
			if i > 0 {
				w.WriteByte(' ')
			}
			f.shape.write(w, b, adj)
		}
		w.WriteByte('}')
	case s.elem != nil && s.elem.kind == "uint8":
		var bs []byte
		for i := range s.count {
			o := adj + i*s.stride + s.elem.off
			if o < 0 || o >= len(b) {
				w.WriteString("?")
				return
			}
			bs = append(bs, b[o])
		}
		w.WriteString(byteString(bs))
	case s.elem != nil:
		w.WriteByte('[')
		for i := range min(s.count, maxItems) {
			if i > 0 {
				w.WriteByte(' ')
			}
			s.elem.write(w, b, adj+i*s.stride)
		}
		if s.count > maxItems {
			fmt.Fprintf(w, " ...+%d", s.count-maxItems)
		}
		w.WriteByte(']')
	default:
		o := adj + s.off
		if o < 0 || s.size <= 0 || o > len(b)-s.size {
			w.WriteString("?")
			return
		}
		w.WriteString(scalar(s.kind, b[o:o+s.size]))
	}
}

var ne = binary.NativeEndian

// scalar renders one leaf: integers in decimal, floats and complex numbers
// in the shortest form that reads back to the same value.
func scalar(kind string, b []byte) string {
	switch {
	case kind == "bool" && len(b) == 1:
		return strconv.FormatBool(b[0] != 0)
	case strings.HasPrefix(kind, "int"):
		return strconv.FormatInt(layout.Int(b), 10)
	case strings.HasPrefix(kind, "uint"):
		return strconv.FormatUint(layout.Uint(b), 10)
	case kind == "float32" && len(b) == 4:
		return strconv.FormatFloat(float64(math.Float32frombits(ne.Uint32(b))), 'g', -1, 32)
	case kind == "float64" && len(b) == 8:
		return strconv.FormatFloat(math.Float64frombits(ne.Uint64(b)), 'g', -1, 64)
	case kind == "complex64" && len(b) == 8:
		c := complex(math.Float32frombits(ne.Uint32(b)), math.Float32frombits(ne.Uint32(b[4:])))
		return strconv.FormatComplex(complex128(c), 'g', -1, 64)
	case kind == "complex128" && len(b) == 16:
		c := complex(math.Float64frombits(ne.Uint64(b)), math.Float64frombits(ne.Uint64(b[8:])))
		return strconv.FormatComplex(c, 'g', -1, 128)
	}
	return hexBytes(b)
}

// byteString renders a [N]byte as the quoted text before its first NUL
// when that is printable UTF-8 (a name, a code) and only NULs follow it
// (padding), else in hex: bytes after a NUL are data that text would hide.
func byteString(b []byte) string {
	text := b
	if i := bytes.IndexByte(b, 0); i >= 0 {
		text = b[:i]
		if len(bytes.Trim(b[i:], "\x00")) > 0 {
			return hexBytes(b)
		}
	}
	if !utf8.Valid(text) || strings.ContainsFunc(string(text), func(r rune) bool { return !strconv.IsPrint(r) }) {
		return hexBytes(b)
	}
	if len(text) > maxBytes {
		return strconv.Quote(string(trimUTF8(text[:maxBytes]))) + "..."
	}
	return strconv.Quote(string(text))
}

// trimUTF8 drops a rune cut at the end of b.
func trimUTF8(b []byte) []byte {
	for len(b) > 0 && !utf8.Valid(b) {
		b = b[:len(b)-1]
	}
	return b
}

func hexBytes(b []byte) string {
	if len(b) > maxBytes {
		return "0x" + hex.EncodeToString(b[:maxBytes]) + fmt.Sprintf("...+%dB", len(b)-maxBytes)
	}
	return "0x" + hex.EncodeToString(b)
}
