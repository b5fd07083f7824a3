package realfs_test

import (
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mmapvec/persistence/internal/testproc"
	"github.com/mmapvec/persistence/table"
)

// wide is the full-disk test's row: fixed-size columns only, so that
// appends take Append's fast path where the file system allows it.
type wide struct{ A, B, C, D int64 }

func wideRow(i int) wide {
	x := int64(i)
	return wide{x<<8 | 1, x<<8 | 2, x<<8 | 3, x<<8 | 4}
}

// TestFullDisk fills each file system under a table that holds synced
// rows, then keeps appending, setting rows in place and syncing. A full
// copy-on-write file system (btrfs) cannot give a page rewritten after it
// reached the disk, and the kernel raises SIGBUS at the store: every call
// must still return (an error at worst), the writer must live to close
// the table, and once there is room again the table must open with every
// row its last successful Sync committed.
func TestFullDisk(t *testing.T) {
	if testproc.Role() == "fulldisk" {
		fullDiskWriter()
		return
	}
	eachFileSystem(t, func(t *testing.T, fs fileSystem) {
		if raceEnabled && fs.name == "btrfs" {
			t.Skip("realfs: btrfs: skipped under -race, whose atomic stores run in C, where a fault cannot be recovered; .ci/run runs it without")
		}
		work := t.TempDir()
		image, mnt := filepath.Join(work, "image"), filepath.Join(work, "mnt")
		if err := makeImage(fs, image); err != nil {
			t.Fatalf("realfs: %s: %v", fs.name, err)
		}
		if err := os.Mkdir(mnt, 0o755); err != nil {
			t.Fatal(err)
		}
		if _, err := mountImage(t, image, mnt, ""); errors.Is(err, errUnavailable) {
			t.Skipf("realfs: %s: skipped: %v", fs.name, err)
		} else if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(mnt, "table")
		c := testproc.Start(t, "TestFullDisk", "fulldisk", "PERSIST_TEST_DIR="+dir)
		if !c.WaitFor(5*time.Minute, func(lines []string) bool { return slices.Contains(lines, "done") }) {
			c.Kill()
		}
		code := c.Wait()
		lines := c.Lines()
		t.Logf("realfs: %s: the writer said %q", fs.name, lines)
		if code != 0 {
			t.Fatalf("realfs: %s: the writer ended with %d on a full disk: %s", fs.name, code, lastLines(c.Stderr(), 8))
		}
		synced := -1
		for _, l := range lines {
			if n, ok := strings.CutPrefix(l, "synced "); ok {
				synced, _ = strconv.Atoi(n)
			}
		}
		if synced < 0 {
			t.Fatalf("realfs: %s: no Sync succeeded", fs.name)
		}
		// Still full: an open may fail, but with an error.
		if tb, err := table.Open[wide](dir, nil); err == nil {
			if err := tb.Close(); err != nil && !errors.Is(err, table.ErrFault) {
				t.Fatalf("realfs: %s: close on a full disk: %v", fs.name, err)
			}
		} else if !errors.Is(err, table.ErrFault) && !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("realfs: %s: open on a full disk: %v", fs.name, err)
		} else {
			t.Logf("realfs: %s: open on a full disk: %v", fs.name, err)
		}
		if err := os.Remove(filepath.Join(mnt, "filler")); err != nil {
			t.Fatal(err)
		}
		tb, err := table.Open[wide](dir, nil)
		if err != nil {
			t.Fatalf("realfs: %s: open once there is room: %v", fs.name, err)
		}
		defer tb.Close()
		if tb.Len() < synced {
			t.Fatalf("realfs: %s: %d rows, the last Sync committed %d", fs.name, tb.Len(), synced)
		}
		for i := range tb.Len() {
			if r := tb.Row(i); r != wideRow(i) {
				t.Fatalf("realfs: %s: row %d is %+v, want %+v", fs.name, i, r, wideRow(i))
			}
		}
		t.Logf("realfs: %s: full disk: the writer lived to close, and the table reopened with %d rows (its last Sync committed %d)", fs.name, tb.Len(), synced)
	})
}

// fullDiskWriter is the child: rows, a Sync, a disk filled to the last
// block, then appends, in-place writes of the same values and Syncs until
// the first error; it reports each Sync's rows and exits 0 if it lived.
func fullDiskWriter() {
	dir := os.Getenv("PERSIST_TEST_DIR")
	tb, err := table.Open[wide](dir, nil)
	if err != nil {
		testproc.Say("error open: %v", err)
		os.Exit(1)
	}
	for i := range 100_000 {
		if err := tb.Append(wideRow(i)); err != nil {
			testproc.Say("error append: %v", err)
			os.Exit(1)
		}
	}
	if err := tb.Sync(); err != nil {
		testproc.Say("error sync: %v", err)
		os.Exit(1)
	}
	testproc.Say("synced %d", tb.Len())
	f, err := os.Create(filepath.Join(filepath.Dir(dir), "filler"))
	if err == nil {
		buf := make([]byte, 1<<20)
		for err == nil {
			_, err = f.Write(buf)
		}
		testproc.Say("filled: %v", err)
		_ = f.Sync()
		_ = f.Close()
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 200_000; round++ {
		n := tb.Len()
		err = tb.Append(wideRow(n))
		if err == nil && round%97 == 0 {
			i := rng.IntN(n)
			err = tb.SetRow(i, wideRow(i))
		}
		if err == nil && round%1000 == 999 {
			if err = tb.Sync(); err == nil {
				testproc.Say("synced %d", tb.Len())
			}
		}
		if err != nil {
			testproc.Say("error at round %d: %v", round, err)
			break
		}
	}
	testproc.Say("closed %v", tb.Close())
	testproc.Say("done")
	os.Exit(0)
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
