package fsutil_test

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/mmapvec/persistence/internal/fsutil"
	"github.com/stretchr/testify/require"
)

func TestReadRegular(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := fsutil.ReadRegular(file, 5, 5)
	if err != nil || string(b) != "hello" {
		t.Fatalf("ReadRegular = %q, %v; want hello", b, err)
	}
	for _, r := range [][2]int64{{6, 10}, {0, 4}} {
		if _, err := fsutil.ReadRegular(file, r[0], r[1]); !errors.Is(err, fsutil.ErrSize) {
			t.Fatalf("size 5 within [%d, %d]: %v, want ErrSize", r[0], r[1], err)
		}
	}
	if _, err := fsutil.ReadRegular(filepath.Join(dir, "missing"), 0, 10); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v, want os.ErrNotExist", err)
	}
}

// TestReadRegularRefusesOtherKinds: every kind of file that is not a
// regular one is refused with ErrNotRegular, at once and without reading.
func TestReadRegularRefusesOtherKinds(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	kinds := map[string]func(path string) error{
		"symlink-to-file":     func(p string) error { return os.Symlink(target, p) },
		"symlink-to-dev-zero": func(p string) error { return os.Symlink("/dev/zero", p) },
		"dangling-symlink":    func(p string) error { return os.Symlink(filepath.Join(dir, "nothing"), p) },
		"fifo":                func(p string) error { return syscall.Mkfifo(p, 0o644) },
		"directory":           func(p string) error { return os.Mkdir(p, 0o755) },
	}
	for name, mk := range kinds {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name)
			if err := mk(path); err != nil {
				t.Skipf("cannot make a %s here: %v", name, err)
			}
			done := make(chan error, 1)
			go func() { _, err := fsutil.ReadRegular(path, 0, 1<<20); done <- err }()
			select {
			case err := <-done:
				if !errors.Is(err, fsutil.ErrNotRegular) {
					t.Fatalf("%v, want ErrNotRegular", err)
				}
				t.Log(err)
			case <-time.After(10 * time.Second):
				t.Fatal("ReadRegular blocked") // a FIFO opened without O_NONBLOCK waits for a writer
			}
			if f, err := fsutil.OpenRegular(path, os.O_RDWR|os.O_CREATE, 0o644); !errors.Is(err, fsutil.ErrNotRegular) {
				if f != nil {
					f.Close()
				}
				t.Fatalf("OpenRegular for writing: %v, want ErrNotRegular", err)
			}
		})
	}
	if _, err := fsutil.ReadRegular("/dev/null", 0, 1<<20); !errors.Is(err, fsutil.ErrNotRegular) && !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("character device: %v, want ErrNotRegular", err)
	}
}

// TestReadRegularSparseHuge: a sparse file of a terabyte is refused by its
// size before any memory is allocated for it.
func TestReadRegularSparseHuge(t *testing.T) {
	path := filepath.Join(t.TempDir(), "huge")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, 1<<40); err != nil {
		t.Skipf("no sparse 1 TiB file on this file system: %v", err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := fsutil.ReadRegular(path, 0, 16<<20)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, fsutil.ErrSize) {
		t.Fatalf("%v, want ErrSize", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Fatalf("refusing a 1 TiB file allocated %d bytes", grew)
	}
}

// Out of descriptors, the error names the limit and the fix.
func TestOpenRegularNamesTheDescriptorLimit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	require.NoError(t, os.WriteFile(path, []byte("x"), 0o644))
	var lim syscall.Rlimit
	require.NoError(t, syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim))
	low := lim
	low.Cur = 64
	require.NoError(t, syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low))
	defer func() { require.NoError(t, syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)) }()
	var files []*os.File
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	var err error
	for range 100 {
		var f *os.File
		if f, err = fsutil.OpenRegular(path, os.O_RDONLY, 0); err != nil {
			break
		}
		files = append(files, f)
	}
	require.ErrorIs(t, err, syscall.EMFILE)
	require.Contains(t, err.Error(), "ulimit -n")
}
