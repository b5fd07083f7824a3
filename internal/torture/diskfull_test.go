// A full disk (a small tmpfs) and a file-size limit (RLIMIT_FSIZE):
// appends fail cleanly and every row before the failure stays.

package torture_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mmapvec/persistence/internal/bootid"
	"github.com/mmapvec/persistence/internal/testproc"
	"github.com/mmapvec/persistence/mmap"
	"github.com/mmapvec/persistence/table"
)

func init() {
	roles["rlimit"] = roleRlimit
}

// mountTmpfs mounts a tmpfs of the given size on a new directory, or skips
// the test, saying why, when that is not possible.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("not root: cannot mount a tmpfs (TestDiskFullRlimit covers a write limit without root)")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("mount -t tmpfs failed (%v: %s); TestDiskFullRlimit covers a write limit without it", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// fillDisk writes the file at path until its disk is full.
func fillDisk(t *testing.T, path string) {
	t.Helper()
	filler, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer filler.Close()
	buf := make([]byte, 4<<10)
	for {
		if _, err := filler.Write(buf); err != nil {
			return
		}
	}
}

// fillVec appends batches until an error, and returns it with the count
// of elements appended before it.
func fillVec(v *mmap.Vec[row], limit int) (int, error) {
	batch := make([]row, 4096)
	n := 0
	for n < limit {
		for j := range batch {
			batch[j] = mkRow(uint64(n+j), valOf(uint64(n+j)))
		}
		if err := v.Append(batch...); err != nil {
			return n, err
		}
		n += len(batch)
	}
	return n, nil
}

func checkVecPrefix(t *testing.T, path string, n int) {
	t.Helper()
	v, err := mmap.Open[row](path, vecOpts)
	if err != nil {
		t.Fatalf("reopen after the write failure: %v", err)
	}
	defer v.Close()
	if v.Len() != n {
		t.Fatalf("reopened with %d elements, %d were appended before the failure", v.Len(), n)
	}
	for i, r := range v.Slice() {
		if r != mkRow(uint64(i), valOf(uint64(i))) {
			t.Fatalf("element %d is %+v after the failure", i, r)
		}
	}
}

func fillTable(dir string, limit int) (int, error) {
	tb, err := openTable(dir, false)
	if err != nil {
		return 0, fmt.Errorf("open: %w", err)
	}
	defer tb.Close()
	batch := make([]trow, 2048)
	n := 0
	for n < limit {
		for j := range batch {
			batch[j] = mkTRow(uint64(n+j), valOf(uint64(n+j)))
		}
		if err := tb.AppendRows(batch); err != nil {
			if serr := tb.Sync(); serr != nil {
				return n, fmt.Errorf("append: %w; then sync: %v", err, serr)
			}
			return n, err
		}
		n += len(batch)
	}
	return n, nil
}

func checkTablePrefix(t *testing.T, dir string, n int) {
	t.Helper()
	tb, err := openTable(dir, false)
	if err != nil {
		t.Fatalf("reopen after the write failure: %v", err)
	}
	defer tb.Close()
	got, err := readRows(tb)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n {
		t.Fatalf("reopened with %d rows, %d were appended before the failure (%s)", len(got), n, tb.Recovered())
	}
	for i, r := range got {
		if r != mkTRow(uint64(i), valOf(uint64(i))) {
			t.Fatalf("row %d is %+v after the failure", i, r)
		}
	}
}

// TestDiskFullTmpfs appends to a Vec and to a table on a small tmpfs until
// the disk is full: the append fails with ENOSPC (at growth, never a
// SIGBUS later), every element before it is intact, and the files reopen.
// A table created on a full disk fails cleanly and leaves no directory.
func TestDiskFullTmpfs(t *testing.T) {
	track(t)
	t.Run("vec", func(t *testing.T) {
		path := vecPath(mountTmpfs(t, "4m"))
		v, err := mmap.Open[row](path, vecOpts)
		if err != nil {
			t.Fatal(err)
		}
		n, err := fillVec(v, 1<<30)
		if !errors.Is(err, syscall.ENOSPC) || n == 0 {
			t.Fatalf("after %d elements: want ENOSPC, got %v", n, err)
		}
		if err := v.Sync(); err != nil {
			t.Fatalf("sync after ENOSPC: %v", err)
		}
		if err := v.Close(); err != nil {
			t.Fatal(err)
		}
		checkVecPrefix(t, path, n)
		t.Logf("ENOSPC after %d elements (%d bytes): %v", n, 24*n, err)
	})
	t.Run("table", func(t *testing.T) {
		// Five columns take 1 MiB each at their first growth.
		dir := filepath.Join(mountTmpfs(t, "8m"), "table")
		n, err := fillTable(dir, 1<<30)
		if !errors.Is(err, syscall.ENOSPC) || n == 0 {
			t.Fatalf("after %d rows: want ENOSPC, got %v", n, err)
		}
		checkTablePrefix(t, dir, n)
		t.Logf("ENOSPC after %d rows: %v", n, err)
	})
	t.Run("table whose log does not fit", func(t *testing.T) {
		// The default log (8 MiB) does not fit on a 4 MiB disk: the table
		// is made with the smallest one.
		dir := filepath.Join(mountTmpfs(t, "4m"), "table")
		tb, err := table.Open[trow](dir, nil)
		if err != nil {
			t.Fatalf("create: %v", err)
		}
		if fi, err := os.Lstat(filepath.Join(dir, "WAL")); err != nil || fi.Size() >= table.DefaultLogSize {
			t.Fatalf("a log that cannot fit: %v, %v", fi, err)
		}
		for i := range 300 {
			if err := tb.Append(mkTRow(uint64(i), valOf(uint64(i)))); err != nil {
				t.Fatal(err)
			}
			if i%100 == 99 {
				if err := tb.Sync(); err != nil {
					t.Fatalf("sync without a log: %v", err)
				}
			}
		}
		if err := tb.Close(); err != nil {
			t.Fatal(err)
		}
		bootid.Override("after-restart")
		defer bootid.Override("")
		tb, err = table.Open[trow](dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tb.Close()
		if tb.Len() != 300 || tb.Row(299) != mkTRow(299, valOf(299)) {
			t.Fatalf("after a restart: %d rows, the last %+v", tb.Len(), tb.Row(tb.Len()-1))
		}
	})
	t.Run("SyncMeta where no log fits", func(t *testing.T) {
		// A table without its log (removed here) on a disk with no room
		// for one: SyncMeta fails with ErrNoLog and commits nothing,
		// the table is not poisoned, and SyncMeta works once there is room.
		fs := mountTmpfs(t, "4m")
		dir := filepath.Join(fs, "table")
		tb, err := table.Open[trow](dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := tb.Append(mkTRow(0, valOf(0))); err != nil { // the columns' first pages
			t.Fatal(err)
		}
		if err := tb.Close(); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(filepath.Join(dir, "WAL")); err != nil {
			t.Fatal(err)
		}
		fillDisk(t, filepath.Join(fs, "filler"))
		if tb, err = table.Open[trow](dir, nil); err != nil {
			t.Fatal(err)
		}
		defer tb.Close()
		if err := tb.Append(mkTRow(1, valOf(1))); err != nil {
			t.Fatal(err)
		}
		if err := tb.SyncMeta([]byte("tick 1")); !errors.Is(err, table.ErrNoLog) || errors.Is(err, table.ErrPoisoned) || !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("SyncMeta without room for a log: %v", err)
		}
		if tb.Meta() != nil {
			t.Fatalf("a failed SyncMeta set the meta to %q", tb.Meta())
		}
		if err := tb.Sync(); err != nil {
			t.Fatalf("Sync after a SyncMeta that found no room: %v", err)
		}
		if err := os.Remove(filepath.Join(fs, "filler")); err != nil {
			t.Fatal(err)
		}
		if err := tb.Append(mkTRow(2, valOf(2))); err != nil {
			t.Fatal(err)
		}
		if err := tb.SyncMeta([]byte("tick 2")); err != nil {
			t.Fatalf("SyncMeta with room: %v", err)
		}
		if err := tb.Close(); err != nil {
			t.Fatal(err)
		}
		bootid.Override("after-restart")
		defer bootid.Override("")
		if tb, err = table.Open[trow](dir, nil); err != nil {
			t.Fatal(err)
		}
		defer tb.Close()
		if tb.Len() != 3 || string(tb.Meta()) != "tick 2" {
			t.Fatalf("after a restart: %d rows, meta %q", tb.Len(), tb.Meta())
		}
	})
	for _, how := range []string{"without", "with sparse"} {
		t.Run("open on a full disk "+how+" READERS and JOURNAL", func(t *testing.T) {
			fullDiskWriterFiles(t, how == "with sparse")
		})
	}
	t.Run("create on a full disk", func(t *testing.T) {
		fs := mountTmpfs(t, "1m")
		fillDisk(t, filepath.Join(fs, "filler"))
		dir := filepath.Join(fs, "table")
		tb, err := openTable(dir, false)
		if err == nil {
			tb.Close()
			t.Fatal("a table was created on a full disk")
		}
		if !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("want ENOSPC, got %v", err)
		}
		if _, serr := os.Lstat(dir); !errors.Is(serr, os.ErrNotExist) {
			t.Fatalf("a failed create left %s behind (%v)", dir, serr)
		}
		entries, _ := os.ReadDir(fs)
		if len(entries) != 1 {
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			t.Fatalf("a failed create left files behind: %v", names)
		}
		t.Logf("create on a full disk: %v", err)
	})
	fig.add(&fig.cases, 4)
}

// TestDiskFullRlimit is TestDiskFullTmpfs without root: a child limits its
// file size with RLIMIT_FSIZE (ignoring SIGXFSZ) and fills a Vec and a
// table until a write fails with EFBIG; the parent then reopens them and
// finds every element appended before the failure.
func TestDiskFullRlimit(t *testing.T) {
	track(t)
	for _, kind := range []string{"vec", "table"} {
		t.Run(kind, func(t *testing.T) {
			dir := t.TempDir()
			c := testproc.Start(t, "", "rlimit", "PERSIST_TEST_DIR="+dir, "PERSIST_KIND="+kind, "PERSIST_FSIZE="+strconv.Itoa(3<<20))
			line := c.Expect(t, "failed after ", 2*time.Minute)
			if code := c.Wait(); code != 0 {
				t.Fatalf("child exited %d: %q", code, c.Lines())
			}
			var n int
			var efbig bool
			if _, err := fmt.Sscanf(line, "failed after %d: efbig=%t:", &n, &efbig); err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			if !efbig || n == 0 {
				t.Fatalf("want EFBIG after some rows: %s", line)
			}
			if kind == "vec" {
				checkVecPrefix(t, vecPath(dir), n)
			} else {
				checkTablePrefix(t, filepath.Join(dir, "table"), n)
			}
			t.Log(line)
		})
	}
	fig.add(&fig.cases, 2)
}

// roleRlimit limits the size of files this process may write, then fills
// a Vec or a table in PERSIST_TEST_DIR until a write fails.
func roleRlimit() int {
	signal.Ignore(syscall.SIGXFSZ) // the write then fails with EFBIG instead
	limit, _ := strconv.ParseUint(os.Getenv("PERSIST_FSIZE"), 10, 64)
	if err := setFileSizeLimit(limit); err != nil {
		testproc.Say("error setrlimit: %v", err)
		return 1
	}
	dir := os.Getenv("PERSIST_TEST_DIR")
	var n int
	var err error
	if os.Getenv("PERSIST_KIND") == "table" {
		n, err = fillTable(filepath.Join(dir, "table"), 1<<30)
	} else {
		var v *mmap.Vec[row]
		if v, err = mmap.Open[row](vecPath(dir), vecOpts); err != nil {
			testproc.Say("error open: %v", err)
			return 1
		}
		n, err = fillVec(v, 1<<30)
		if serr := v.Sync(); serr != nil {
			testproc.Say("error sync: %v", serr)
			return 1
		}
		if cerr := v.Close(); cerr != nil {
			testproc.Say("error close: %v", cerr)
			return 1
		}
	}
	testproc.Say("failed after %d: efbig=%v: %v", n, errors.Is(err, syscall.EFBIG), err)
	return 0
}

// fullDiskWriterFiles: files a writer maps and writes through (the
// readers' page, the journal), made on a full disk or found sparse there:
// an error, never a SIGBUS.
func fullDiskWriterFiles(t *testing.T, sparse bool) {
	fs := mountTmpfs(t, "4m")
	dir := filepath.Join(fs, "table")
	tb, err := table.Open[trow](dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := tb.Append(mkTRow(0, valOf(0))); err != nil {
		t.Fatal(err)
	}
	if err := tb.Close(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"READERS", "JOURNAL"} {
		path := filepath.Join(dir, name)
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		if sparse { // as earlier versions made them: the right size, no blocks
			if err := os.WriteFile(path, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(path, fi.Size()); err != nil {
				t.Fatal(err)
			}
		}
	}
	fillDisk(t, filepath.Join(fs, "filler"))
	tb, err = table.Open[trow](dir, nil)
	if err == nil {
		err = tb.SetRow(0, mkTRow(7, valOf(7)))
		tb.Close()
	}
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("open and SetRow on a full disk: %v, want ENOSPC", err)
	}
	if err := os.Remove(filepath.Join(fs, "filler")); err != nil {
		t.Fatal(err)
	}
	if tb, err = table.Open[trow](dir, nil); err != nil {
		t.Fatal(err)
	}
	defer tb.Close()
	if tb.Len() != 1 || tb.Row(0) != mkTRow(0, valOf(0)) {
		t.Fatalf("after the full disk: %d rows, row 0 %+v", tb.Len(), tb.Row(0))
	}
}
