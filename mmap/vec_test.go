package mmap_test

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime/debug"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/mmapvec/persistence/internal/bootid"
	"github.com/mmapvec/persistence/internal/testproc"
	"github.com/mmapvec/persistence/internal/testseed"
	"github.com/mmapvec/persistence/mmap"
)

type point struct {
	X, Y float64
	ID   uint32
	Tag  [4]byte
}

func TestMain(m *testing.M) {
	switch role := testproc.Role(); {
	case role == "":
		os.Exit(m.Run())
	case role == "flock":
		os.Exit(childFlock(os.Getenv("PERSIST_TEST_PATH")))
	default:
		os.Exit(m.Run()) // roles handled inside tests
	}
}

// childFlock tries a non-blocking exclusive flock: exit 0 if it got it, 3 if
// the file was locked, 4 on any other error.
func childFlock(path string) int {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 4
	}
	err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	switch err {
	case nil:
		return 0
	case unix.EWOULDBLOCK:
		return 3
	}
	return 4
}

func externalLock(t *testing.T, path string) int {
	t.Helper()
	c := testproc.Start(t, "TestMain", "flock", "PERSIST_TEST_PATH="+path)
	return c.Wait()
}

func mustOpen[T any](t *testing.T, path string, opts *mmap.Options) *mmap.Vec[T] {
	t.Helper()
	v, err := mmap.Open[T](path, opts)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, v.Close()) })
	return v
}

func TestCreateAppendReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "points.col")
	v := mustOpen[point](t, path, nil)
	require.Equal(t, 0, v.Len())
	for i := range 1000 {
		require.NoError(t, v.Push(point{X: float64(i), Y: -float64(i), ID: uint32(i)}))
	}
	require.NoError(t, v.Append(point{ID: 1000}, point{ID: 1001}))
	require.Equal(t, 1002, v.Len())
	require.GreaterOrEqual(t, v.Cap(), v.Len())
	require.NoError(t, v.Sync())
	require.NoError(t, v.Close())
	require.ErrorIs(t, v.Push(point{}), mmap.ErrClosed)
	require.NoError(t, v.Close(), "Close is idempotent")

	w := mustOpen[point](t, path, nil)
	require.Equal(t, 1002, w.Len())
	require.Equal(t, point{X: 7, Y: -7, ID: 7}, w.Get(7))
	require.Equal(t, uint32(1001), w.Get(1001).ID)
	n := 0
	for i, p := range w.All() {
		require.Equal(t, w.Get(i), p)
		n++
	}
	require.Equal(t, 1002, n)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Zero(t, (fi.Size()-4096)%int64(reflect.TypeFor[point]().Size()))
}

func TestOps(t *testing.T) {
	v := mustOpen[int64](t, filepath.Join(t.TempDir(), "v.col"), nil)
	require.NoError(t, v.Append(10, 11, 12, 13, 14))
	x, ok := v.Pop()
	require.True(t, ok)
	require.EqualValues(t, 14, x)
	require.EqualValues(t, 11, v.SwapRemove(1))
	require.Equal(t, []int64{10, 13, 12}, v.Slice())
	v.Set(0, 99)
	require.EqualValues(t, 99, v.Get(0))
	require.NoError(t, v.Truncate(1))
	require.Equal(t, []int64{99}, v.Slice())
	require.Error(t, v.Truncate(2))
	require.Panics(t, func() { v.Get(1) })
	require.Panics(t, func() { v.Get(-1) })
	require.Panics(t, func() { v.Set(5, 1) })
	require.NoError(t, v.Truncate(0))
	_, ok = v.Pop()
	require.False(t, ok)
	require.NoError(t, v.Reserve(10_000))
	require.ErrorIs(t, v.Reserve(1<<60), mmap.ErrTooLarge, "past what the format holds")
	require.ErrorIs(t, v.Reserve(-1), mmap.ErrRange)
	require.GreaterOrEqual(t, v.Cap(), 10_000)
	require.Equal(t, 0, v.Len())
}

// A count within the format's limit whose bytes pass 2^64 is ErrTooLarge:
// the size was computed with a multiplication that wrapped, and a Reserve
// of 2^44+2 elements of 1 MiB reported that capacity over a file of two,
// so that the third Push stored past the mapping.
func TestReserveBytesOverflow(t *testing.T) {
	type big [1 << 20]byte
	v, err := mmap.Open[big](filepath.Join(t.TempDir(), "v"), nil)
	require.NoError(t, err)
	defer func() { require.NoError(t, v.Close()) }()
	require.ErrorIs(t, v.Reserve(1<<44+2), mmap.ErrTooLarge)
	require.Less(t, v.Cap(), 1<<20, "the capacity is what the file holds")
	require.NoError(t, v.Push(big{1}))
	require.Equal(t, byte(1), v.Get(0)[0])
}

// All stops when the loop body closes the Vec, rather than reading on
// through the mapping Close took away (a fault that killed the process).
func TestAllStopsWhenClosedInBody(t *testing.T) {
	v, err := mmap.Open[int64](filepath.Join(t.TempDir(), "v"), nil)
	require.NoError(t, err)
	require.NoError(t, v.Append(1, 2, 3, 4))
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	n := 0
	for range v.All() {
		n++
		require.NoError(t, v.Close())
	}
	require.Equal(t, 1, n)
}

func TestRandomOpsAgainstModel(t *testing.T) {
	seed := testseed.Seed(t)
	rng := rand.New(rand.NewPCG(seed, seed))
	path := filepath.Join(t.TempDir(), "v.col")
	v, err := mmap.Open[uint32](path, nil)
	require.NoError(t, err)
	var model []uint32
	for step := range 5000 {
		switch op := rng.IntN(10); {
		case op < 5:
			xs := make([]uint32, rng.IntN(300))
			for i := range xs {
				xs[i] = rng.Uint32()
			}
			require.NoError(t, v.Append(xs...))
			model = append(model, xs...)
		case op < 6 && len(model) > 0:
			i := rng.IntN(len(model))
			require.Equal(t, model[i], v.SwapRemove(i))
			model[i] = model[len(model)-1]
			model = model[:len(model)-1]
		case op < 7:
			n := rng.IntN(len(model) + 1)
			require.NoError(t, v.Truncate(n))
			model = model[:n]
		case op < 8 && len(model) > 0:
			i, x := rng.IntN(len(model)), rng.Uint32()
			v.Set(i, x)
			model[i] = x
		case op < 9:
			require.NoError(t, v.Sync())
		default:
			require.NoError(t, v.Close())
			v, err = mmap.Open[uint32](path, nil)
			require.NoError(t, err)
		}
		require.Equal(t, len(model), v.Len(), "step %d", step)
	}
	require.Equal(t, model, append([]uint32{}, v.Slice()...))
	require.NoError(t, v.Close())
}

func TestSlicesValidAcrossGrowth(t *testing.T) {
	v := mustOpen[int64](t, filepath.Join(t.TempDir(), "v.col"), nil)
	for i := range 1000 {
		require.NoError(t, v.Push(int64(i)))
	}
	old := v.Slice()
	capBefore := v.Cap()
	batch := make([]int64, 10_000)
	for v.Len() < 1000*1000 {
		for j := range batch {
			batch[j] = int64(v.Len() + j)
		}
		require.NoError(t, v.Append(batch...))
	}
	require.Greater(t, v.Cap(), capBefore, "the file grew")
	for i, x := range old { // the old slice still reads the file
		require.EqualValues(t, i, x)
	}
	old[999] = -1 // and writes it
	require.EqualValues(t, -1, v.Get(999))
	s := v.Slice()
	require.Equal(t, 1_001_000, len(s))
	require.EqualValues(t, 1_000_999, s[1_000_999])
	s[5] = -5 // a write through the new mapping shows through the old one
	require.EqualValues(t, -5, old[5])
}

func TestUnsupportedTypes(t *testing.T) {
	type inner struct {
		OK   int32
		Name string
	}
	type outer struct {
		A  float64
		In [2]inner
	}
	cases := []struct {
		name string
		open func(string) error
		path string
	}{
		{"string", func(p string) error { _, err := mmap.Open[string](p, nil); return err }, ""},
		{"pointer", func(p string) error { _, err := mmap.Open[*int](p, nil); return err }, ""},
		{"slice", func(p string) error { _, err := mmap.Open[struct{ B []byte }](p, nil); return err }, "B"},
		{"map", func(p string) error { _, err := mmap.Open[struct{ M map[int]int }](p, nil); return err }, "M"},
		{"interface", func(p string) error { _, err := mmap.Open[struct{ I any }](p, nil); return err }, "I"},
		{"chan", func(p string) error { _, err := mmap.Open[struct{ C chan int }](p, nil); return err }, "C"},
		{"func", func(p string) error { _, err := mmap.Open[struct{ F func() }](p, nil); return err }, "F"},
		{"uintptr", func(p string) error { _, err := mmap.Open[uintptr](p, nil); return err }, ""},
		{"nested string", func(p string) error { _, err := mmap.Open[outer](p, nil); return err }, "In[].Name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "v.col")
			err := c.open(path)
			require.ErrorIs(t, err, mmap.ErrType)
			var te *mmap.TypeError
			require.ErrorAs(t, err, &te)
			require.Equal(t, c.path, te.Path)
			require.NotEmpty(t, te.Hint)
			_, statErr := os.Stat(path)
			require.True(t, errors.Is(statErr, os.ErrNotExist), "no file is created for a refused type")
		})
	}
}

// Locking: the seed's tests, with a child process as the external locker.

func TestLockedWhileOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v.col")
	v, err := mmap.Open[int32](path, nil)
	require.NoError(t, err)
	require.Equal(t, 3, externalLock(t, path), "an external flock is refused while the Vec is open")
	if py, err := exec.LookPath("python3"); err == nil {
		out, err := exec.Command(py, "-c", `import fcntl,sys
f=open(sys.argv[1],"rb")
try:
    fcntl.flock(f, fcntl.LOCK_EX|fcntl.LOCK_NB)
    print("acquired")
except BlockingIOError:
    print("refused")`, path).CombinedOutput()
		require.NoError(t, err, string(out))
		require.Equal(t, "refused\n", string(out))
	}
	_, err = mmap.Open[int32](path, nil)
	require.ErrorIs(t, err, mmap.ErrLocked, "a second open in the same process is refused too")
	require.Contains(t, err.Error(), "pid "+strconv.Itoa(os.Getpid()))
	_, err = mmap.Open[int32](path, &mmap.Options{ReadOnly: true})
	require.ErrorIs(t, err, mmap.ErrLocked, "a reader is refused while a writer holds the file")
	require.NoError(t, v.Close())
	require.Equal(t, 0, externalLock(t, path), "the lock is free after Close")

	// The lock is held on a reopened existing file too.
	v, err = mmap.Open[int32](path, nil)
	require.NoError(t, err)
	require.Equal(t, 3, externalLock(t, path))
	require.NoError(t, v.Close())
	require.Equal(t, 0, externalLock(t, path))
}

func TestReadOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v.col")
	_, err := mmap.Open[int32](path, &mmap.Options{ReadOnly: true})
	require.ErrorIs(t, err, os.ErrNotExist, "read-only does not create")
	v, err := mmap.Open[int32](path, nil)
	require.NoError(t, err)
	require.NoError(t, v.Append(1, 2, 3))
	require.NoError(t, v.Close())

	r1 := mustOpen[int32](t, path, &mmap.Options{ReadOnly: true})
	r2 := mustOpen[int32](t, path, &mmap.Options{ReadOnly: true})
	require.Equal(t, []int32{1, 2, 3}, r1.Slice())
	require.Equal(t, 3, r2.Len())
	require.ErrorIs(t, r1.Push(4), mmap.ErrReadOnly)
	require.ErrorIs(t, r1.Sync(), mmap.ErrReadOnly)
	require.Panics(t, func() { r1.Set(0, 9) })
	_, err = mmap.Open[int32](path, nil)
	require.ErrorIs(t, err, mmap.ErrLocked, "a writer is refused while readers share the file")
	_, err = mmap.Open[int32](path, &mmap.Options{LockTimeout: 50 * time.Millisecond})
	require.ErrorIs(t, err, mmap.ErrLocked)
}

func TestPoisonedAfterFailedSync(t *testing.T) {
	v, err := mmap.Open[int64](filepath.Join(t.TempDir(), "v.col"), nil)
	require.NoError(t, err)
	require.NoError(t, v.Push(1))
	mmap.BreakFile(v)
	err = v.Sync()
	require.ErrorIs(t, err, mmap.ErrPoisoned)
	require.ErrorIs(t, v.Sync(), mmap.ErrPoisoned, "no retry")
	require.ErrorIs(t, v.Push(2), mmap.ErrPoisoned)
	require.ErrorIs(t, v.Reserve(10), mmap.ErrPoisoned)
	_ = v.Close()
}

// Crash recovery.

func TestKill9KeepsCompletedAppends(t *testing.T) {
	if testproc.Role() == "append-then-hang" {
		v, err := mmap.Open[int64](os.Getenv("PERSIST_TEST_PATH"), nil)
		if err != nil {
			testproc.Say("error %v", err)
			os.Exit(1)
		}
		_ = v.Append(1, 2, 3)
		_ = v.Sync()
		for i := range 100_000 { // past the last Sync: only the page cache has them
			_ = v.Push(int64(i + 4))
		}
		testproc.Say("appended %d", v.Len())
		testproc.Hang()
	}
	path := filepath.Join(t.TempDir(), "v.col")
	c := testproc.Start(t, "TestKill9KeepsCompletedAppends", "append-then-hang", "PERSIST_TEST_PATH="+path)
	require.Equal(t, "appended 100003", c.Expect(t, "appended", 30*time.Second))
	c.Kill()
	v := mustOpen[int64](t, path, nil) // the dead child's lock is free
	require.Equal(t, 100_003, v.Len())
	require.Equal(t, mmap.SourceLive, v.Recovery().Source)
	require.EqualValues(t, 100_003, v.Get(100_002))
}

func TestRebootKeepsOnlyCommitted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v.col")
	v, err := mmap.Open[int64](path, nil)
	require.NoError(t, err)
	require.NoError(t, v.Append(1, 2, 3))
	require.NoError(t, v.Sync())
	require.NoError(t, v.Append(4, 5))
	require.NoError(t, v.Close())

	bootid.Override("another boot")
	defer bootid.Override("")
	r := mustOpen[int64](t, path, &mmap.Options{ReadOnly: true})
	require.Equal(t, []int64{1, 2, 3}, r.Slice(), "after a reboot only the committed length counts")
	require.Equal(t, mmap.SourceCommitted, r.Recovery().Source)
	require.NoError(t, r.Close())

	w := mustOpen[int64](t, path, nil)
	require.Equal(t, 3, w.Len())
	require.NoError(t, w.Push(6))
	require.NoError(t, w.Close())
	w = mustOpen[int64](t, path, nil)
	require.Equal(t, []int64{1, 2, 3, 6}, w.Slice(), "the writer of this boot is trusted again")
}

func TestForeignBootIDInHeader(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v.col")
	v, err := mmap.Open[int64](path, nil)
	require.NoError(t, err)
	require.NoError(t, v.Append(1, 2))
	require.NoError(t, v.Sync())
	require.NoError(t, v.Append(3))
	require.NoError(t, v.Close())
	patch(t, path, 48, []byte("not-this-boot!!!")) // the boot id is outside the header CRC
	w := mustOpen[int64](t, path, nil)
	require.Equal(t, []int64{1, 2}, w.Slice())
	require.Equal(t, mmap.SourceCommitted, w.Recovery().Source)
}

// editHeader changes page 0 and fixes the header CRC (over [0, 48)), as
// FORMAT.md says.
func editHeader(t *testing.T, path string, edit func(h []byte)) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	require.NoError(t, err)
	defer f.Close()
	h := make([]byte, 4096)
	_, err = f.ReadAt(h, 0)
	require.NoError(t, err)
	edit(h)
	binary.NativeEndian.PutUint32(h[64:], crc32.Checksum(h[:48], crc32.MakeTable(crc32.Castagnoli)))
	_, err = f.WriteAt(h, 0)
	require.NoError(t, err)
}
