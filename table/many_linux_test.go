package table_test

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence/internal/testproc"
	"github.com/mmapvec/persistence/table"
)

type eight struct {
	A, B, C, D int64
	E, F       float64
	G          [4]int32
	H          uint16
}

// copyDir copies the regular files of src into a new directory dst.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	require.NoError(t, os.Mkdir(dst, 0o755))
	entries, err := os.ReadDir(src)
	require.NoError(t, err)
	for _, e := range entries {
		in, err := os.Open(filepath.Join(src, e.Name()))
		require.NoError(t, err)
		out, err := os.Create(filepath.Join(dst, e.Name()))
		require.NoError(t, err)
		_, err = io.Copy(out, in)
		require.NoError(t, err)
		require.NoError(t, in.Close())
		require.NoError(t, out.Close())
	}
}

// A process holds as many tables as its descriptors allow, with default
// options: address space is never the limit first (it was, with a fixed
// reservation per column file).
func TestThousandsOfColumnsOpen(t *testing.T) {
	tables := 1500 // of 8 columns: 12,000 column files
	if raceEnabled || testing.Short() {
		// Opens are slow in a race build and under qemu; 2,400 column
		// files are still past the 2,000 that the fixed reservations
		// allowed.
		tables = 300
	}
	var lim syscall.Rlimit
	require.NoError(t, syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim))
	// A writer holds its column files, LOCK, READERS, COMMIT, JOURNAL
	// and WAL open.
	if need := uint64(tables*13 + 100); lim.Cur < need {
		t.Skipf("needs %d descriptors, the limit is %d", need, lim.Cur)
	}
	// Creating 21,000 files is what takes time here, not opening them: on
	// a tmpfs when there is one.
	root := t.TempDir()
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		shm, err := os.MkdirTemp("/dev/shm", "persist-many-")
		require.NoError(t, err)
		t.Cleanup(func() { _ = os.RemoveAll(shm) })
		root = shm
	}
	tmpl := filepath.Join(root, "template")
	// A small log: 1500 copies of the default one would take 13 GB.
	tb, err := table.Open[eight](tmpl, &table.Options{LogSize: table.MinLogSize})
	require.NoError(t, err)
	for i := range 100 {
		require.NoError(t, tb.Append(eight{A: int64(i)}))
	}
	require.NoError(t, tb.Sync())
	require.NoError(t, tb.Close())
	for i := range tables {
		copyDir(t, tmpl, filepath.Join(root, fmt.Sprint(i)))
	}

	open := make([]*table.Table[eight], 0, tables)
	defer func() {
		for _, tb := range open {
			require.NoError(t, tb.Close())
		}
	}()
	for i := range tables {
		tb, err := table.Open[eight](filepath.Join(root, fmt.Sprint(i)), nil)
		require.NoError(t, err, "table %d of %d", i, tables)
		open = append(open, tb)
	}
	// Every table grows (100 rows fit its first page of int64; 1000 do not)
	// while all are open.
	for i, tb := range open {
		for j := range 1000 {
			require.NoError(t, tb.Append(eight{A: int64(i), B: int64(j), H: uint16(j)}))
		}
	}
	for i, tb := range open {
		require.Equal(t, 1100, tb.Len())
		require.Equal(t, eight{A: 7}, tb.Row(7))
		require.Equal(t, eight{A: int64(i), B: 999, H: 999}, tb.Row(1099))
	}
}

// vmSize is this process's address space in bytes (VmSize).
func vmSize(t *testing.T) uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status")
	}
	var kb uint64
	for _, line := range strings.Split(string(b), "\n") {
		if _, err := fmt.Sscanf(line, "VmSize: %d kB", &kb); err == nil {
			return kb << 10
		}
	}
	t.Skip("no VmSize in /proc/self/status")
	return 0
}

// A table works under an address-space limit (ulimit -v) of a few times its
// data: growth maps no more than the files need. The child lowers its own
// limit to what it uses now plus three times the data it will write.
func TestAddressSpaceLimit(t *testing.T) {
	const rows = 4 << 20 // of 64 bytes: 256 MiB
	if testproc.Role() == "aslimit" {
		lim := vmSize(t) + 3*rows*uint64(unsafe.Sizeof(eight{}))
		require.NoError(t, syscall.Setrlimit(syscall.RLIMIT_AS, &syscall.Rlimit{Cur: lim, Max: lim}))
		tb, err := table.Open[eight](os.Getenv("ASLIMIT_DIR"), nil)
		require.NoError(t, err)
		batch := make([]eight, 1<<16)
		for tb.Len() < rows {
			for j := range batch {
				batch[j] = eight{A: int64(tb.Len() + j)}
			}
			require.NoError(t, tb.AppendRows(batch))
		}
		a, err := table.Col(tb, func(r *eight) *int64 { return &r.A })
		require.NoError(t, err)
		for i, x := range a.Slice() {
			if x != int64(i) {
				t.Fatalf("row %d holds %d", i, x)
			}
		}
		require.NoError(t, tb.Close())
		testproc.Say("ok %d", rows)
		return
	}
	if raceEnabled || os.Getenv("PERSIST_TEST_EXEC") != "" {
		t.Skip("the race detector and emulators map memory of their own")
	}
	c := testproc.Start(t, "TestAddressSpaceLimit", "aslimit", "ASLIMIT_DIR="+filepath.Join(t.TempDir(), "t"))
	c.Expect(t, "ok", 2*time.Minute)
	require.Equal(t, 0, c.Wait())
}
