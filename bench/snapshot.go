package bench

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/mmapvec/persistence/internal/fsutil"
	"github.com/mmapvec/persistence/table"
)

// SnapshotWorkload times Table.Snapshot of a live table of LargeBytes rows
// (its writer open) against copying the same directory with the system's
// cp -r, with and without an fsync of every copied file afterwards
// (Snapshot's copy is durable when it returns).
func SnapshotWorkload(c Config) *Workload {
	n := c.LargeBytes / RowSize
	var dir string
	var tab *Table
	var srcSize int64
	var reflinks string // whether the file system shares blocks, said in the notes
	var cpWrote int64   // the last cp's bytes written, from its rusage
	var before int64    // this process's bytes written before a Run
	wrote := map[string][]float64{}
	held := map[string][]float64{}
	src := func() string { return filepath.Join(dir, "table") }
	dst := func() string { return filepath.Join(dir, "copy") }
	cp := func() error {
		cmd := exec.Command("cp", "-r", src(), dst())
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("cp -r: %v: %s", err, strings.TrimSpace(string(out)))
		}
		cpWrote = rusageWritten(cmd.ProcessState)
		return nil
	}
	// measured checks the copy, records what it wrote and holds, and removes it.
	measured := func(name string, check func() error) func() error {
		return func() error {
			w := cpWrote
			if name == snapshotLib {
				w = procWritten() - before
			}
			_, alloc, err := treeBytes(dst())
			if err == nil {
				err = check()
			}
			wrote[name] = append(wrote[name], float64(w))
			held[name] = append(held[name], float64(alloc))
			return errors.Join(err, os.RemoveAll(dst()))
		}
	}
	sameSize := func() error {
		size, _, err := treeBytes(dst())
		if err == nil && size != srcSize {
			err = fmt.Errorf("cp -r copied %d bytes of %d", size, srcSize)
		}
		return err
	}
	const cpName, cpSync = "cp -r", "cp -r, then fsync of every file"
	w := &Workload{
		Name: "Snapshot", Size: bytesName(c.LargeBytes), Unit: PerOp, Lib: snapshotLib, Reps: 3,
		Setup: func() (err error) {
			if dir, err = TempDir("snapshot"); err != nil {
				return err
			}
			reflinks = sharesBlocks(dir)
			if tab, err = OpenTable(src()); err != nil {
				return err
			}
			if err := fillTable(tab, n); err != nil {
				return err
			}
			srcSize, _, err = treeBytes(src())
			return err
		},
		Teardown: func() error { return errors.Join(closer(&tab)(), os.RemoveAll(dir)) },
		Cases: []*Case{
			{Name: snapshotLib, Units: 1,
				Before: func() error { before = procWritten(); return nil },
				Run:    func() error { return tab.Snapshot(dst()) },
				After:  measured(snapshotLib, func() error { return checkCopy(dst(), n) })},
			{Name: cpName, Units: 1, Run: cp, After: measured(cpName, sameSize)},
			{Name: cpSync, Units: 1,
				Run: func() error {
					if err := cp(); err != nil {
						return err
					}
					return fsyncTree(dst())
				},
				After: measured(cpSync, sameSize)},
		},
	}
	w.Notes = []string{fmt.Sprintf("The source is a table of %s of 32-byte rows in 4 columns, its writer open, synced; every file is in the page cache (caches cannot be dropped here, so all figures are warm). "+
		"Snapshot builds the copy in a hidden directory, fdatasyncs every file, renames it into place and syncs the directory: its copy is durable when it returns, which cp's is not, so cp is timed alone and followed by an fsync of every file and directory it made. "+
		"cp is GNU cp, whose default --reflink=auto tries FICLONE and falls back to copy_file_range, as Snapshot does.", bytesName(c.LargeBytes))}
	base := len(w.Notes)
	w.Teardown = chain(w.Teardown, func() error {
		if len(wrote[snapshotLib]) == 0 {
			return nil
		}
		var b strings.Builder
		b.WriteString(reflinks)
		fmt.Fprintf(&b, "The source's files hold %s; bytes written (write_bytes of the process, the page-cache pages it dirtied) and held by the copy (allocated blocks), medians: ", iec(float64(srcSize)))
		for i, name := range []string{snapshotLib, cpName, cpSync} {
			if i > 0 {
				b.WriteString("; ")
			}
			fmt.Fprintf(&b, "%s wrote %s and holds %s", name, iec(Median(wrote[name])), iec(Median(held[name])))
		}
		b.WriteString(". Snapshot copies only the live rows and cp every file whole, spare capacity included; these rows fill the columns' capacity exactly (it doubles, and 1 GiB of rows is a power of two), so both copy the same bytes here, and a table between two doublings would have cp copy up to twice the rows.")
		w.Notes = append(w.Notes[:base], b.String())
		return nil
	})
	return w
}

const snapshotLib = "table Snapshot"

// checkCopy opens a snapshot as a reader and checks its rows.
func checkCopy(dir string, n int) error {
	t, err := table.Open[Row](dir, &table.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	return errors.Join(checkRows(t, n), t.Close())
}

// checkRows checks that t holds the generator's first n rows: the count,
// and the sums of the ID and Value columns that every row type here has.
func checkRows[R any](t *table.Table[R], n int) error {
	ids, err := table.Column[int64](t, "ID")
	if err != nil {
		return err
	}
	values, err := table.Column[float64](t, "Value")
	if err != nil {
		return err
	}
	wantI, wantF := ExpectedSums(n)
	if t.Len() != n || SumInt64(ids.Slice()) != wantI || SumFloat64(values.Slice()) != wantF {
		return fmt.Errorf("%s holds %d rows, want %d, or its sums differ", t.Dir(), t.Len(), n)
	}
	return nil
}

// treeBytes sums the sizes and the allocated bytes of the regular files under dir.
func treeBytes(dir string) (size, alloc int64, err error) {
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		size += fi.Size()
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			alloc += st.Blocks * 512
		}
		return nil
	})
	return size, alloc, err
}

// fsyncTree fsyncs every file and directory under dir, children first.
func fsyncTree(dir string) error {
	var paths []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil {
			paths = append(paths, path)
		}
		return err
	})
	for i := len(paths) - 1; i >= 0 && err == nil; i-- {
		var f *os.File
		if f, err = os.Open(paths[i]); err == nil {
			err = errors.Join(f.Sync(), f.Close())
		}
	}
	return err
}

// procWritten is this process's write_bytes from /proc/self/io: the bytes
// of the page-cache pages it dirtied; 0 where the system does not say.
func procWritten() int64 {
	f, err := os.Open("/proc/self/io")
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "write_bytes: "); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return 0
}

// rusageWritten is the same count for a child that exited: Linux reports
// write_bytes in 512-byte blocks as ru_oublock.
func rusageWritten(ps *os.ProcessState) int64 {
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		return int64(ru.Oublock) * 512
	}
	return 0
}

// sharesBlocks says whether the file system of dir shares blocks between
// files (a reflink), as Snapshot and cp --reflink=auto then do, from a
// copy between two small files there.
func sharesBlocks(dir string) string {
	a, b := filepath.Join(dir, "probe-a"), filepath.Join(dir, "probe-b")
	defer os.Remove(a)
	defer os.Remove(b)
	const size = 1 << 16
	shared, err := func() (bool, error) {
		if err := os.WriteFile(a, make([]byte, size), 0o644); err != nil {
			return false, err
		}
		in, err := os.Open(a)
		if err != nil {
			return false, err
		}
		defer in.Close()
		out, err := os.Create(b)
		if err != nil {
			return false, err
		}
		defer out.Close()
		return fsutil.CopyRange(out, in, 0, size)
	}()
	switch {
	case err != nil:
		return fmt.Sprintf("Whether the file system shares blocks between files is unknown (%v). ", err)
	case shared:
		return "The file system shares blocks between files (a reflink), so Snapshot and cp share the rows' blocks rather than copy them. "
	}
	return "The file system cannot share blocks between files (no reflink), so Snapshot and cp both copy every byte (copy_file_range, in the kernel). "
}
