package layout_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence/internal/layout"
)

type point struct {
	X, Y float64
	ID   uint32
	Tag  [4]byte
}

func TestLayout(t *testing.T) {
	l, err := layout.For[point]()
	require.NoError(t, err)
	require.Equal(t, 24, l.Size)
	require.Equal(t, 8, l.Align)
	require.Equal(t, "size=24 align=8; X float64@0/8; Y float64@8/8; ID uint32@16/4; Tag[] uint8@20/1 [4]*1", l.String())
	type renamed struct {
		X, Z float64
		ID   uint32
		Tag  [4]byte
	}
	l2, err := layout.For[renamed]()
	require.NoError(t, err)
	require.NotEqual(t, l.Fingerprint(), l2.Fingerprint())
}
