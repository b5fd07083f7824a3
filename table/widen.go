package table

import (
	"fmt"
	"math"

	"github.com/mmapvec/persistence"
	"github.com/mmapvec/persistence/internal/layout"
)

// Lossless widenings, applied to a column when the record type asks for a
// wider element than the table stores: every value of the old type is a
// value of the new one. Anything else is a retype the caller must convert
// explicitly.

// widener converts one element in place of its new, wider column: src is
// the old element's bytes, dst the new one's (zeroed), both native order.
type widener func(dst, src []byte)

// scalar kinds by their bytes: int and uint have the writer's pointer size.
func scalarKind(l persistence.Layout) (kind string, size int, ok bool) {
	if len(l.Leaves) != 1 {
		return "", 0, false
	}
	f := l.Leaves[0]
	if f.Offset != 0 || len(f.Dims) != 0 || f.Size != l.Size {
		return "", 0, false
	}
	switch f.Kind {
	case "int":
		return fmt.Sprintf("int%d", 8*f.Size), f.Size, true
	case "uint":
		return fmt.Sprintf("uint%d", 8*f.Size), f.Size, true
	}
	return f.Kind, f.Size, true
}

// widening returns the conversion from layout from to layout to, or why
// there is none.
func widening(from, to persistence.Layout) (widener, error) {
	fk, fs, fok := scalarKind(from)
	tk, ts, tok := scalarKind(to)
	if fok && tok {
		if raw, want := from.Leaves[0].Kind, to.Leaves[0].Kind; fk == tk && raw != want {
			// int64 and int (or uint64 and uint) of one size: distinct
			// column types, since int follows the machine's word.
			return nil, fmt.Errorf("%s and %s are distinct column types of one size (int and uint follow the machine's word); declare the field %s", raw, want, raw)
		}
		return scalarWidening(fk, fs, tk, ts)
	}
	if arrayGrows(from, to) {
		return func(dst, src []byte) { copy(dst, src) }, nil // zero padded
	}
	return nil, fmt.Errorf("%s to %s is not a lossless widening", from, to)
}

// isSigned and isUnsigned classify the integer kinds.
func isSigned(k string) bool {
	return k == "int8" || k == "int16" || k == "int32" || k == "int64"
}

func isUnsigned(k string) bool {
	return k == "uint8" || k == "uint16" || k == "uint32" || k == "uint64"
}

func scalarWidening(fk string, fs int, tk string, ts int) (widener, error) {
	switch {
	case isSigned(fk) && isSigned(tk) && ts > fs:
		return func(dst, src []byte) { layout.PutUint(dst, uint64(layout.Int(src))) }, nil
	case isUnsigned(fk) && isUnsigned(tk) && ts > fs:
		return func(dst, src []byte) { layout.PutUint(dst, layout.Uint(src)) }, nil
	case isUnsigned(fk) && isSigned(tk) && ts > fs:
		// Every uintN fits a wider intM.
		return func(dst, src []byte) { layout.PutUint(dst, layout.Uint(src)) }, nil
	case fk == "float32" && tk == "float64":
		return func(dst, src []byte) {
			ne.PutUint64(dst, math.Float64bits(float64(math.Float32frombits(ne.Uint32(src)))))
		}, nil
	case isSigned(fk) && fs <= 4 && tk == "float64":
		// A float64 holds every integer of up to 53 bits.
		return func(dst, src []byte) { ne.PutUint64(dst, math.Float64bits(float64(layout.Int(src)))) }, nil
	case isUnsigned(fk) && fs <= 4 && tk == "float64":
		return func(dst, src []byte) { ne.PutUint64(dst, math.Float64bits(float64(layout.Uint(src)))) }, nil
	}
	why := "a narrowing or a retype"
	if fk == tk {
		why = "the same type"
	}
	return nil, fmt.Errorf("%s to %s is %s, not a lossless widening", fk, tk, why)
}

// arrayGrows reports whether to is from, an array [N]T, grown to [M]T with
// M > N: every leaf the same but for the outermost count.
func arrayGrows(from, to persistence.Layout) bool {
	if from.Align != to.Align || len(from.Leaves) != len(to.Leaves) || len(from.Leaves) == 0 {
		return false
	}
	n, m := -1, -1
	for i, f := range from.Leaves {
		t := to.Leaves[i]
		if f.Path != t.Path || f.Kind != t.Kind || f.Offset != t.Offset || f.Size != t.Size ||
			len(f.Dims) == 0 || len(f.Dims) != len(t.Dims) || f.Dims[0].Stride != t.Dims[0].Stride {
			return false
		}
		for d := 1; d < len(f.Dims); d++ {
			if f.Dims[d] != t.Dims[d] {
				return false
			}
		}
		if n < 0 {
			n, m = f.Dims[0].Count, t.Dims[0].Count
		}
		if f.Dims[0].Count != n || t.Dims[0].Count != m {
			return false
		}
	}
	// The element is the array: N strides, grown to M.
	stride := from.Leaves[0].Dims[0].Stride
	return m > n && from.Size == n*stride && to.Size == m*stride
}
