package layout_test

import (
	"math"
	"testing"

	"github.com/mmapvec/persistence/internal/layout"
)

// Every size reads back what it wrote, with the sign of its kind.
func TestScalarInts(t *testing.T) {
	for _, c := range []struct {
		size int
		s    int64
		u    uint64
	}{{1, math.MinInt8, math.MaxUint8}, {2, math.MinInt16, math.MaxUint16}, {4, math.MinInt32, math.MaxUint32}, {8, math.MinInt64, math.MaxUint64}} {
		b := make([]byte, c.size)
		layout.PutUint(b, uint64(c.s))
		if got := layout.Int(b); got != c.s {
			t.Errorf("size %d: Int is %d, want %d", c.size, got, c.s)
		}
		layout.PutUint(b, c.u)
		if got := layout.Uint(b); got != c.u {
			t.Errorf("size %d: Uint is %d, want %d", c.size, got, c.u)
		}
		if got := layout.Int(b); got != -1 {
			t.Errorf("size %d: all ones as Int is %d, want -1", c.size, got)
		}
	}
}
