package table_test

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence/table"
)

// TestPretouchSparesFaults appends, into a new table, the rows whose pages
// the pretoucher has touched: the appending thread takes no page fault.
// Without the pretoucher the same appends fault, so the check can fail.
func TestPretouchSparesFaults(t *testing.T) {
	if os.Getenv("PERSIST_TEST_EXEC") != "" {
		t.Skip("under an emulator (PERSIST_TEST_EXEC) the thread's page faults are the emulator's")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	appendFaults := func(tb *table.Table[Event], rows int) int64 {
		before := threadFaults()
		for i := range rows {
			if err := tb.Append(Event{ID: int64(i), TS: 1, Value: 2, Count: 3}); err != nil {
				t.Fatal(err)
			}
		}
		return threadFaults() - before
	}
	const pages = 64 // per column, 512 rows of 8 bytes each
	rows := pages * 512

	off := mustOpen[Event](t, filepath.Join(t.TempDir(), "t"), &table.Options{NoPretouch: true})
	require.NoError(t, table.Reserve(off, rows))
	without := appendFaults(off, rows)
	require.Greater(t, without, int64(pages/8), "appends into new pages without the pretoucher")

	on := mustOpen[Event](t, filepath.Join(t.TempDir(), "t"), nil)
	for range 16 { // each nudge doubles the window, up to its full size
		require.NoError(t, table.Reserve(on, rows))
	}
	require.GreaterOrEqual(t, table.PretouchWindow(on), rows, "the window covers the rows appended")
	require.True(t, table.PretouchWait(on, rows, time.Minute), "the pretoucher touched the window")
	with := appendFaults(on, rows)
	if raceEnabled {
		return // the race detector's own shadow memory faults
	}
	require.Zero(t, with, "appends into pretouched pages (%d faults without the pretoucher)", without)
}
