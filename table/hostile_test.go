package table_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence"
	"github.com/mmapvec/persistence/internal/bootid"
	"github.com/mmapvec/persistence/table"
)

// Hostile files: records whose checksums are valid but whose numbers are
// not, and files of the wrong kind or size. Each open must fail with a
// typed error that names the file and the bad value, or open the table
// intact; never write outside a row, fault, hang or allocate by a size read
// from the file.

// The fuzzTable layout: 25 rows (20 committed), packed rows of 18 bytes.
const (
	hostileRows      = 25
	hostileCommitted = 20
	fuzzRowSize      = 8 + 4 + 6
	fuzzCols         = 3
)

// newestSeq is the sequence number of dir's newest COMMIT slot.
func newestSeq(t *testing.T, dir string) uint64 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "COMMIT"))
	require.NoError(t, err)
	size := table.SlotBytes(fuzzCols)
	return max(binary.NativeEndian.Uint64(b[8:]), binary.NativeEndian.Uint64(b[size+8:]))
}

// columnBytes reads every column file of dir, to show that an open that
// failed wrote nothing into them.
func columnBytes(t *testing.T, dir string) map[string]string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.col"))
	require.NoError(t, err)
	out := map[string]string{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		out[filepath.Base(p)] = string(b)
	}
	return out
}

// requireIntact opens dir writable with no hostile file left and checks
// every row, so that damage done by an earlier open (a header page
// overwritten) shows.
func requireIntact(t *testing.T, dir string, rows int) {
	t.Helper()
	tb, err := table.Open[fuzzRow](dir, nil)
	require.NoError(t, err, "the table opens once the hostile file is gone")
	defer tb.Close()
	require.Equal(t, rows, tb.Len())
	for i := range rows {
		require.Equal(t, fuzzRow{A: uint64(i), B: int32(-i), C: [3]uint16{uint16(i), 1, 2}}, tb.Row(i), "row %d", i)
	}
}

// TestHostileJournal writes JOURNAL records with valid checksums and
// impossible numbers. In the writer's boot (live lengths trusted) each is
// table.ErrCorrupt naming JOURNAL and the value, for a reader too, and no column
// byte changes; after a reboot, where only intents that fit the commit are
// redone, each is table.ErrCorrupt or discarded.
func TestHostileJournal(t *testing.T) {
	const maxU = ^uint64(0)
	cases := []struct {
		name              string
		op                uint8
		index, rowsBefore uint64
		says              string
	}{
		{"SetRow 2^64-1", 1, maxU, hostileRows, "SetRow(18446744073709551615)"},
		{"SetRow 0xffffffffc0000000", 1, 0xffffffffc0000000, hostileRows, "SetRow(18446744072635809792)"},
		{"SwapRemove 2^64-1", 2, maxU, maxU, "SwapRemove(18446744073709551615)"},
		{"SwapRemove 2^64-2 of 2^64-1", 2, maxU - 1, maxU, "row count 18446744073709551615 before it"},
		{"SwapRemove of rowsBefore huge", 2, 3, 1 << 62, "4611686018427387904"},
		{"SwapRemove of rows+2", 2, 3, hostileRows + 2, "row count 27"},
		{"SwapRemove of 2^20 rows", 2, 0, 1 << 20, "columns hold 25 rows"},
		{"Truncate from 2^64-1", 3, 0, maxU, "from 18446744073709551615 to 0"},
		{"Truncate to 2^64-1", 3, maxU, hostileRows, "Truncate(18446744073709551615)"},
		{"Truncate to more than before", 3, hostileRows + 1, hostileRows, "new length 26"},
		{"Truncate of fewer rows than held", 3, 0, 5, "hold 25"},
	}
	base := fuzzTable(t)
	row := make([]byte, fuzzRowSize)
	for i := range row {
		row[i] = 0xee
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := copyTable(t, base)
			rec := table.EncodeIntent(c.op, newestSeq(t, dir), c.index, c.rowsBefore, row)
			require.NoError(t, os.WriteFile(filepath.Join(dir, "JOURNAL"), rec, 0o644))
			require.True(t, table.ReadIntentOK(rec, fuzzRowSize), "the record's checksum is valid")
			before := columnBytes(t, dir)
			for _, ro := range []bool{true, false} {
				tb, err := table.Open[fuzzRow](dir, &table.Options{ReadOnly: ro})
				if err == nil {
					tb.Close()
				}
				require.ErrorIs(t, err, table.ErrCorrupt, "read-only %v", ro)
				require.Contains(t, err.Error(), "JOURNAL")
				require.Contains(t, err.Error(), c.says)
				t.Logf("read-only %v: %v", ro, err)
				require.Equal(t, before, columnBytes(t, dir), "no column byte changed")
			}

			// After a reboot: discarded unless it fits the commit.
			bootid.Override("hostile journal reboot")
			tb, err := table.Open[fuzzRow](dir, nil)
			bootid.Override("")
			if err != nil {
				require.ErrorIs(t, err, table.ErrCorrupt)
				t.Logf("after a reboot: %v", err)
				require.NoError(t, os.Remove(filepath.Join(dir, "JOURNAL")))
				bootid.Override("hostile journal reboot")
				defer bootid.Override("")
			} else {
				t.Logf("after a reboot: %s", tb.Recovered())
				require.NoError(t, tb.Close())
			}
			requireIntact(t, dir, hostileCommitted)
		})
	}
}

// TestHostileCommit writes COMMIT files with valid checksums and the
// right manifest hash whose row count lies past the column files: corrupt
// in the writer's boot as after a reboot, naming COMMIT and the count.
func TestHostileCommit(t *testing.T) {
	base := fuzzTable(t)
	m, err := persistence.ReadManifest(base)
	require.NoError(t, err)
	for _, rows := range []uint64{1 << 30, 1 << 62, 1 << 63, ^uint64(0)} {
		for _, reboot := range []bool{false, true} {
			t.Run(fmt.Sprintf("rows=%d/reboot=%v", rows, reboot), func(t *testing.T) {
				dir := copyTable(t, base)
				lens := []uint64{rows, rows, rows}
				b := append(table.EncodeCommit(0, 50, rows, m.Hash(), lens), table.EncodeCommit(1, 49, rows, m.Hash(), lens)...)
				require.NoError(t, os.WriteFile(filepath.Join(dir, "COMMIT"), b, 0o644))
				if reboot {
					bootid.Override("hostile commit reboot")
					defer bootid.Override("")
				}
				before := columnBytes(t, dir)
				for _, ro := range []bool{true, false} {
					tb, err := table.Open[fuzzRow](dir, &table.Options{ReadOnly: ro})
					if err == nil {
						tb.Close()
					}
					require.ErrorIs(t, err, table.ErrCorrupt, "read-only %v", ro)
					require.Contains(t, err.Error(), "COMMIT")
					require.Contains(t, err.Error(), fmt.Sprint(rows))
					t.Logf("read-only %v: %v", ro, err)
				}
				require.Equal(t, before, columnBytes(t, dir), "no column byte changed")
			})
		}
	}
}

// openWithin opens dir in a goroutine and fails the test if the open has
// not returned after a generous while (a FIFO read without O_NONBLOCK
// blocks forever); it reports the bytes the open allocated.
func openWithin(t *testing.T, dir string, ro bool) (uint64, error) {
	t.Helper()
	type result struct {
		err   error
		alloc uint64
	}
	done := make(chan result, 1)
	go func() {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		tb, err := table.Open[fuzzRow](dir, &table.Options{ReadOnly: ro})
		runtime.ReadMemStats(&after)
		if err == nil {
			tb.Close()
		}
		done <- result{err, after.TotalAlloc - before.TotalAlloc}
	}()
	select {
	case r := <-done:
		return r.alloc, r.err
	case <-time.After(20 * time.Second):
		t.Fatalf("Open has not returned after 20 s: it blocks on a file")
		return 0, nil
	}
}

// TestHostileFileKinds replaces each file a table reads whole with a FIFO,
// a symlink to /dev/zero, or a sparse file of 1 TiB: the open returns at
// once with a typed error naming the file, and allocates nothing near the
// size the file claims.
func TestHostileFileKinds(t *testing.T) {
	base := fuzzTable(t)
	kinds := []struct {
		name string
		make func(path string) error
		says string
	}{
		{"FIFO", func(p string) error { return syscall.Mkfifo(p, 0o644) }, "FIFO"},
		{"symlink to /dev/zero", func(p string) error { return os.Symlink("/dev/zero", p) }, "symlink"},
		{"sparse 1 TiB", func(p string) error {
			if err := os.WriteFile(p, nil, 0o644); err != nil {
				return err
			}
			return os.Truncate(p, 1<<40)
		}, "1099511627776 bytes"},
		{"directory", func(p string) error { return os.Mkdir(p, 0o755) }, "directory"},
	}
	files := []struct {
		name string
		want error
	}{
		{persistence.ManifestFile, persistence.ErrManifest},
		{"COMMIT", table.ErrCorrupt},
		{"JOURNAL", table.ErrCorrupt},
	}
	for _, f := range files {
		for _, k := range kinds {
			t.Run(f.name+"/"+strings.ReplaceAll(k.name, "/", "_"), func(t *testing.T) {
				dir := copyTable(t, base)
				path := filepath.Join(dir, f.name)
				require.NoError(t, os.Remove(path))
				if err := k.make(path); err != nil {
					t.Skipf("cannot make a %s here: %v", k.name, err)
				}
				for _, ro := range []bool{true, false} {
					alloc, err := openWithin(t, dir, ro)
					require.Error(t, err, "read-only %v", ro)
					require.True(t, errors.Is(err, f.want), "read-only %v: %v does not match %v", ro, err, f.want)
					require.Contains(t, err.Error(), f.name)
					require.Contains(t, err.Error(), k.says)
					require.Less(t, alloc, uint64(8<<20), "read-only %v: the open allocated %d bytes", ro, alloc)
					t.Logf("read-only %v: %v (%d bytes allocated)", ro, err, alloc)
				}
			})
		}
	}
}

// A damaged manifest is a damaged table: its error matches both
// persistence.ErrManifest and table.ErrCorrupt.
func TestDamagedManifestIsCorrupt(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t")
	tb, err := table.Open[fuzzRow](dir, nil)
	require.NoError(t, err)
	require.NoError(t, tb.Close())
	require.NoError(t, os.WriteFile(filepath.Join(dir, persistence.ManifestFile), []byte("{not json"), 0o644))
	for _, ro := range []bool{false, true} {
		_, err := table.Open[fuzzRow](dir, &table.Options{ReadOnly: ro})
		require.ErrorIs(t, err, persistence.ErrManifest)
		require.ErrorIs(t, err, table.ErrCorrupt)
	}
	_, err = table.Repair(dir, nil)
	require.ErrorIs(t, err, persistence.ErrManifest)
	require.ErrorIs(t, err, table.ErrCorrupt, "Repair says what Open says")
}

// A LOCK that is not a regular file is a damaged table, for Open and
// Repair as for Check; the table's data is untouched.
func TestLockNotARegularFile(t *testing.T) {
	for _, kind := range []string{"directory", "FIFO", "symlink"} {
		t.Run(kind, func(t *testing.T) {
			dir := copyTable(t, fuzzTable(t))
			lock := filepath.Join(dir, "LOCK")
			require.NoError(t, os.Remove(lock))
			switch kind {
			case "directory":
				require.NoError(t, os.Mkdir(lock, 0o755))
			case "FIFO":
				require.NoError(t, syscall.Mkfifo(lock, 0o644))
			case "symlink":
				require.NoError(t, os.Symlink(filepath.Join(dir, "COMMIT"), lock))
			}
			_, err := table.Open[fuzzRow](dir, nil)
			require.ErrorIs(t, err, table.ErrCorrupt)
			require.Contains(t, err.Error(), "LOCK")
			_, err = table.Repair(dir, nil)
			require.ErrorIs(t, err, table.ErrCorrupt)
			rep, err := table.Check(dir)
			require.NoError(t, err)
			require.ErrorIs(t, rep.Err(), table.ErrCorrupt)
			require.NoError(t, os.Remove(lock))
			tb, err := table.Open[fuzzRow](dir, nil)
			require.NoError(t, err)
			require.Equal(t, hostileRows, tb.Len())
			require.NoError(t, tb.Close())
		})
	}
}

// Options out of their documented ranges are ErrOptions, and create
// nothing.
func TestOptionsOutOfRange(t *testing.T) {
	for _, o := range []table.Options{{MaxSymbols: -1}, {MaxSymbols: 1 << 32}, {MaxValueSize: -1}, {LogSize: 1}} {
		dir := filepath.Join(t.TempDir(), "t")
		_, err := table.Open[fuzzRow](dir, &o)
		require.ErrorIs(t, err, table.ErrOptions, "%+v", o)
		_, serr := os.Stat(dir)
		require.ErrorIs(t, serr, os.ErrNotExist, "%+v", o)
		require.ErrorIs(t, table.Create(dir, reflect.TypeFor[fuzzRow](), &o), table.ErrOptions, "Create, %+v", o)
		_, serr = os.Stat(dir)
		require.ErrorIs(t, serr, os.ErrNotExist, "Create, %+v", o)
	}
	_, err := table.Repair(t.TempDir(), &table.Options{ReadOnly: true})
	require.ErrorIs(t, err, table.ErrOptions)
	tb, err := table.Open[fuzzRow](filepath.Join(t.TempDir(), "t"), &table.Options{MaxSymbols: 1<<32 - 1})
	require.NoError(t, err, "the largest MaxSymbols")
	require.ErrorIs(t, tb.SyncMeta(make([]byte, table.MaxSyncMeta+1)), table.ErrTooLarge)
	require.NoError(t, tb.Close())
}
