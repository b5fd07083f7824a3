package column_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence/column"
)

func panicText(f func()) (msg string) {
	defer func() { msg = fmt.Sprint(recover()) }()
	f()
	return "no panic"
}

// ClosedLength in the shared length closes every view: Len 0, Slice nil,
// and element access panics saying closed, not "index out of range".
func TestClosedLength(t *testing.T) {
	cols, length := open(t)
	a := cols[0]
	require.NoError(t, a.Raw().Reserve(3))
	a.Raw().SetLen(3)
	length.Store(3)
	v, err := column.View[int64](a)
	require.NoError(t, err)
	v.Set(2, 7)
	require.Equal(t, int64(7), v.Get(2))
	require.False(t, a.Closed())
	require.Equal(t, `column "A": Get: index out of range [3] with length 3`, panicText(func() { v.Get(3) }))
	require.Equal(t, `column "A": Set: index out of range [-1] with length 3`, panicText(func() { v.Set(-1, 0) }))

	length.Store(column.ClosedLength)
	require.True(t, a.Closed())
	require.Equal(t, 0, a.Len())
	require.Equal(t, 0, v.Len())
	require.Nil(t, v.Slice())
	require.Equal(t, `column "A": Get on a closed table`, panicText(func() { v.Get(0) }))
	require.Equal(t, `column "A": Set on a closed table`, panicText(func() { v.Set(0, 1) }))
	require.Equal(t, `column "A": ElemBytes on a closed table`, panicText(func() { a.ElemBytes(0) }))
}
