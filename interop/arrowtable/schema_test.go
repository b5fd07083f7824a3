package arrowtable_test

import (
	"errors"
	"testing"

	"github.com/mmapvec/persistence"
	"github.com/mmapvec/persistence/internal/layout"
	"github.com/mmapvec/persistence/interop/arrowtable"
)

type vec3 struct{ X, Y, Z float32 }

type hist struct {
	Count uint16
	Sum   [2]int64
}

func TestDataType(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec func() persistence.ColumnSpec
		want string
	}{
		{"int64", fixed[int64], "int64"},
		{"int", fixed[int], "int64"},
		{"bool", fixed[bool], "bool"},
		{"uint8", fixed[uint8], "uint8"},
		{"float32", fixed[float32], "float32"},
		{"bytes16", fixed[[16]byte], "fixed_size_binary[16]"},
		{"int8s", fixed[[4]int8], "fixed_size_list<item: int8, nullable>[4]"},
		{"matrix", fixed[[2][3]float64], "fixed_size_list<item: fixed_size_list<item: float64, nullable>[3], nullable>[2]"},
		{"struct", fixed[vec3], "struct<X: float32, Y: float32, Z: float32>"},
		{"nested", fixed[[2]hist], "fixed_size_list<item: struct<Count: uint16, Sum: fixed_size_list<item: int64, nullable>[2]>, nullable>[2]"},
		{"string", kind(persistence.KindString), "utf8"},
		{"bytes", kind(persistence.KindBytes), "binary"},
		{"complex128", fixed[complex128], "struct<real: float64, imag: float64>"},
		{"complexes", fixed[[2]complex64], "fixed_size_list<item: struct<real: float32, imag: float32>, nullable>[2]"},
		{"symbol", kind(persistence.KindSymbol), "dictionary<values=utf8, indices=uint32, ordered=false>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dt, err := arrowtable.DataType(tc.spec())
			if err != nil {
				t.Fatal(err)
			}
			if got := dt.String(); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestDataTypeUnsupported(t *testing.T) {
	if _, err := arrowtable.DataType(persistence.ColumnSpec{Name: "c", Layout: persistence.Layout{Size: 8, Align: 8}}); !errors.Is(err, arrowtable.ErrUnsupported) {
		t.Fatalf("an element of no leaves: %v", err)
	}
	if _, err := arrowtable.DataType(persistence.ColumnSpec{Name: "c", Kind: "float128"}); !errors.Is(err, arrowtable.ErrUnsupported) {
		t.Fatalf("an unknown kind: %v", err)
	}
}

func fixed[T any]() persistence.ColumnSpec {
	l, err := layout.For[T]()
	if err != nil {
		panic(err)
	}
	return persistence.ColumnSpec{Name: "c", Layout: l}
}

func kind(k string) func() persistence.ColumnSpec {
	return func() persistence.ColumnSpec {
		l, _ := persistence.KindLayout(k)
		return persistence.ColumnSpec{Name: "c", Kind: k, Layout: l}
	}
}
