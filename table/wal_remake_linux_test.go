package table_test

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/mmapvec/persistence/internal/bootid"
	"github.com/mmapvec/persistence/internal/crashpoint"
	"github.com/mmapvec/persistence/table"
)

// exhaustFDs takes every free file descriptor (under a lowered limit), so
// that the next open of anything fails with EMFILE; the returned func gives
// them back.
func exhaustFDs(t *testing.T) func() {
	ents, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	top := 0
	for _, e := range ents {
		if n, err := strconv.Atoi(e.Name()); err == nil {
			top = max(top, n)
		}
	}
	var old unix.Rlimit
	require.NoError(t, unix.Getrlimit(unix.RLIMIT_NOFILE, &old))
	lim := old
	lim.Cur = uint64(top + 1)
	require.NoError(t, unix.Setrlimit(unix.RLIMIT_NOFILE, &lim))
	var taken []int
	for {
		fd, err := unix.Open("/dev/null", unix.O_RDONLY, 0)
		if err != nil {
			break
		}
		taken = append(taken, fd)
	}
	return func() {
		for _, fd := range taken {
			unix.Close(fd)
		}
		require.NoError(t, unix.Setrlimit(unix.RLIMIT_NOFILE, &old))
	}
}

// TestRemakeFailsAfterRename: the new log of a table whose log was cut
// short is renamed into place, and then the directory's fsync fails. The
// old file is no longer the log: no later Sync may write to it (its rows
// and meta would be in no file after a power cut), nor to the new one,
// whose name may not be durable. Later Syncs checkpoint, and the next
// SyncMeta makes the log again.
func TestRemakeFailsAfterRename(t *testing.T) {
	if os.Getenv("PERSIST_TEST_EXEC") != "" {
		t.Skip("the descriptor limit is the emulator's too")
	}
	dir := tableWithMetaA(t)
	require.NoError(t, os.Truncate(filepath.Join(dir, "WAL"), 65536+16384))

	tb, err := table.Open[walRow](dir, nil)
	require.NoError(t, err)
	defer tb.Close()
	var undo func()
	crashpoint.SetHook(func(name string) {
		if name == "table.wal.create" && undo == nil {
			undo = exhaustFDs(t) // the rename goes on; the directory's fsync cannot open it
		}
	})
	err = tb.Sync() // a checkpoint, then the remake
	crashpoint.SetHook(nil)
	require.NotNil(t, undo, "the remake was not reached")
	undo()
	require.NoError(t, err, "the checkpoint itself committed")

	require.NoError(t, tb.Append(walRowOf(1)))
	require.NoError(t, tb.SyncMeta([]byte("B")))
	require.NoError(t, tb.Append(walRowOf(2)))
	require.NoError(t, tb.Sync())
	wal, err := os.ReadFile(filepath.Join(dir, "WAL"))
	require.NoError(t, err)
	require.Equal(t, uint32(0x31524c57), binary.NativeEndian.Uint32(wal[65536:]), "the log is made again, and the last Sync logged in it")

	r, err := table.Open[walRow](dir, &table.Options{ReadOnly: true})
	require.NoError(t, err)
	require.Equal(t, "B", string(r.Meta()), "a reader beside the writer")
	require.Equal(t, 3, r.Len())
	require.NoError(t, r.Close())

	img := copyTable(t, dir) // the files as they are: what a power cut keeps of synced data
	bootid.Override("after a power cut")
	defer bootid.Override("")
	after, err := table.Open[walRow](img, nil)
	require.NoError(t, err)
	defer after.Close()
	require.Equal(t, 3, after.Len())
	require.Equal(t, "B", string(after.Meta()))
}
