package layout_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence/internal/errs"
	"github.com/mmapvec/persistence/internal/layout"
)

// A time.Time is refused with the advice the README gives (int64 Unix
// nanoseconds), not with the advice for pointers that its location field
// would draw.
func TestLayoutTimeHint(t *testing.T) {
	type event struct {
		ID int64
		At time.Time
	}
	for _, c := range []struct {
		typ        reflect.Type
		path, says string
	}{
		{reflect.TypeFor[event](), "At", "field At is a time.Time"},
		{reflect.TypeFor[time.Time](), "", "time.Time is a struct"},
		{reflect.TypeFor[[2]time.Time](), "[]", "field [] is a time.Time"},
	} {
		_, err := layout.Of(c.typ)
		require.ErrorIs(t, err, errs.ErrType, "%s", c.typ)
		var te *errs.TypeError
		require.ErrorAs(t, err, &te)
		require.Equal(t, c.path, te.Path, "%s", c.typ)
		require.Contains(t, err.Error(), c.says)
		require.Contains(t, err.Error(), "int64 Unix nanoseconds")
		require.Contains(t, err.Error(), "UnixNano()")
		require.NotContains(t, err.Error(), "index", "the pointer advice does not fit a timestamp")
	}
}
