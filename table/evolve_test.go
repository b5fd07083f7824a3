package table_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence"
	"github.com/mmapvec/persistence/table"
)

type evV1 struct {
	A int32
	B float32
	C [2]uint16
}

func evRow(i int) evV1 {
	return evV1{A: int32(-i), B: float32(i) / 4, C: [2]uint16{uint16(i), uint16(i >> 16)}}
}

// evTable makes a closed table of n rows of evV1.
func evTable(t *testing.T, n int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "t")
	tb, err := table.Open[evV1](dir, nil)
	require.NoError(t, err)
	for i := range n {
		require.NoError(t, tb.Append(evRow(i)))
	}
	require.NoError(t, tb.Close())
	return dir
}

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	fi, err := os.Stat(path)
	require.NoError(t, err)
	return fi.Sys().(*syscall.Stat_t).Ino
}

func manifestOf(t *testing.T, dir string) *persistence.Manifest {
	t.Helper()
	m, err := persistence.ReadManifest(dir)
	require.NoError(t, err)
	return m
}

// Adding a column builds only its file, zero filled; the others are the
// same files, untouched.
func TestEvolveAdd(t *testing.T) {
	dir := evTable(t, 1000)
	before := map[string]uint64{}
	for _, f := range []string{"A.col", "B.col", "C.col"} {
		before[f] = inode(t, filepath.Join(dir, f))
	}
	type v2 struct {
		evV1
		D [4]byte `persist:"d"`
	}
	tb := mustOpen[v2](t, dir, nil)
	require.Equal(t, 1000, tb.Len())
	for i := range 1000 {
		require.Equal(t, v2{evV1: evRow(i)}, tb.Row(i))
	}
	for f, ino := range before {
		require.Equal(t, ino, inode(t, filepath.Join(dir, f)), "%s is the same file", f)
	}
	ch := tb.Recovered().SchemaChanges
	require.Len(t, ch, 1)
	require.Equal(t, "add", ch[0].Op)
	require.Equal(t, "d", ch[0].Name)
	m := manifestOf(t, dir)
	require.Equal(t, uint32(5), m.NextID)
	require.Equal(t, []uint32{1, 2, 3, 4}, []uint32{m.Columns[0].ID, m.Columns[1].ID, m.Columns[2].ID, m.Columns[3].ID})
	require.Equal(t, 2, m.History[len(m.History)-1].Change)
	require.NoError(t, tb.Append(v2{evV1: evRow(1000), D: [4]byte{'x'}}))
	_, err := os.Stat(filepath.Join(dir, "SCHEMA"))
	require.ErrorIs(t, err, os.ErrNotExist, "no record is left")
}

// Dropping needs Options.DropColumns; a reader of some columns needs
// nothing and touches nothing.
func TestEvolveDrop(t *testing.T) {
	dir := evTable(t, 100)
	type narrow struct {
		A int32
		C [2]uint16
	}
	_, err := table.Open[narrow](dir, nil)
	require.ErrorIs(t, err, table.ErrSchema)
	require.ErrorContains(t, err, `"B"`)
	require.ErrorContains(t, err, "DropColumns")

	before := snapshot(t, dir)
	r := mustOpen[narrow](t, dir, &table.Options{ReadOnly: true})
	require.Equal(t, 100, r.Len())
	require.Equal(t, narrow{A: -7, C: [2]uint16{7, 0}}, r.Row(7))
	require.NoError(t, r.Close())
	require.Equal(t, before, snapshot(t, dir), "a reader of some columns writes nothing")

	tb := mustOpen[narrow](t, dir, &table.Options{DropColumns: true})
	require.Equal(t, 100, tb.Len())
	require.Equal(t, narrow{A: -99, C: [2]uint16{99, 0}}, tb.Row(99))
	_, err = os.Stat(filepath.Join(dir, "B.col"))
	require.ErrorIs(t, err, os.ErrNotExist)
	ch := tb.Recovered().SchemaChanges
	require.Len(t, ch, 1)
	require.Equal(t, persistence.SchemaChange{Change: 2, Time: ch[0].Time, Op: "drop", ID: 2, Name: "B"}, ch[0])
}

// A rename keeps the file's data under the new name; a Go field renamed
// under an unchanged tag is no change at all.
func TestEvolveRename(t *testing.T) {
	dir := evTable(t, 100)
	ino := inode(t, filepath.Join(dir, "B.col"))
	type renamed struct {
		A     int32
		Ratio float32 `persist:"ratio,was=B"`
		C     [2]uint16
	}
	tb := mustOpen[renamed](t, dir, nil)
	require.Equal(t, renamed{A: -5, Ratio: 1.25, C: [2]uint16{5, 0}}, tb.Row(5))
	require.Equal(t, ino, inode(t, filepath.Join(dir, "ratio.col")), "renamed, not copied")
	_, err := os.Stat(filepath.Join(dir, "B.col"))
	require.ErrorIs(t, err, os.ErrNotExist)
	require.NoError(t, tb.Close())

	// Open again with the same tags: the rename is done, nothing changes.
	m := manifestOf(t, dir)
	again := mustOpen[renamed](t, dir, nil)
	require.Empty(t, again.Recovered().SchemaChanges)
	require.NoError(t, again.Close())
	require.Equal(t, m.History, manifestOf(t, dir).History)

	type fieldRenamed struct {
		Alpha int32   `persist:"A"`
		R     float32 `persist:"ratio"`
		C     [2]uint16
	}
	before := snapshot(t, dir)
	fr := mustOpen[fieldRenamed](t, dir, nil)
	require.Empty(t, fr.Recovered().SchemaChanges)
	require.Equal(t, fieldRenamed{Alpha: -5, R: 1.25, C: [2]uint16{5, 0}}, fr.Row(5))
	require.NoError(t, fr.Close())
	after := snapshot(t, dir)
	delete(before, "READERS")
	delete(after, "READERS")
	require.Equal(t, before, after, "a Go field renamed under its tag changes no file")
}

// Lossless widenings convert every value; narrowings are refused, saying
// which column and why.
func TestEvolveWiden(t *testing.T) {
	dir := evTable(t, 3000)
	type wide struct {
		A int64
		B float64
		C [3]uint16
	}
	tb := mustOpen[wide](t, dir, nil)
	require.Equal(t, 3000, tb.Len())
	for i := range 3000 {
		v := evRow(i)
		require.Equal(t, wide{A: int64(v.A), B: float64(v.B), C: [3]uint16{v.C[0], v.C[1], 0}}, tb.Row(i), "row %d", i)
	}
	require.Len(t, tb.Recovered().SchemaChanges, 3)
	require.NoError(t, tb.Append(wide{A: 1 << 40, B: 0.1, C: [3]uint16{1, 2, 3}}))
	require.NoError(t, tb.Close())

	type narrow struct {
		A int32
		B float64
		C [3]uint16
	}
	_, err := table.Open[narrow](dir, nil)
	require.ErrorIs(t, err, table.ErrSchema)
	require.ErrorContains(t, err, `column "A" (field A): int64 to int32 is a narrowing or a retype`)

	type toFloat struct {
		A float64
		B float64
		C [3]uint16
	}
	_, err = table.Open[toFloat](dir, nil)
	require.ErrorIs(t, err, table.ErrSchema, "int64 to float64 loses precision")
}

// Integer kinds widen to wider ones and to float64 where every value fits.
func TestWideningRules(t *testing.T) {
	type i8 struct{ V int8 }
	type u16 struct{ V uint16 }
	type i32 struct{ V int32 }
	type f64 struct{ V float64 }
	dir := filepath.Join(t.TempDir(), "t")
	tb, err := table.Open[i8](dir, nil)
	require.NoError(t, err)
	for _, v := range []int8{-128, -1, 0, 1, 127} {
		require.NoError(t, tb.Append(i8{v}))
	}
	require.NoError(t, tb.Close())
	_, err = table.Open[u16](dir, nil)
	require.ErrorIs(t, err, table.ErrSchema, "int8 to uint16 loses the sign")
	w := mustOpen[i32](t, dir, nil)
	require.Equal(t, i32{-128}, w.Row(0))
	require.NoError(t, w.Close())
	f := mustOpen[f64](t, dir, nil)
	require.Equal(t, []f64{{-128}, {-1}, {0}, {1}, {127}}, rowsOf(t, f))
}

// The tools' schema changes: a drop and a rename without the row type.
func TestDropAndRenameColumn(t *testing.T) {
	dir := evTable(t, 50)
	ch, err := table.RenameColumn(dir, "B", "ratio", nil)
	require.NoError(t, err)
	require.Len(t, ch, 1)
	require.Equal(t, "rename", ch[0].Op)
	_, err = table.RenameColumn(dir, "nope", "x", nil)
	require.ErrorIs(t, err, table.ErrNoColumn)
	_, err = table.RenameColumn(dir, "A", "RATIO", nil)
	require.ErrorIs(t, err, table.ErrSchema, "names are case-insensitive")
	_, err = table.RenameColumn(dir, "A", "../x", nil)
	require.ErrorIs(t, err, table.ErrType)

	ch, err = table.DropColumn(dir, []string{"C"}, nil)
	require.NoError(t, err)
	require.Equal(t, "drop", ch[0].Op)
	_, err = table.DropColumn(dir, []string{"A", "ratio"}, nil)
	require.ErrorIs(t, err, table.ErrSchema, "a table keeps a column")

	type after struct {
		A     int32
		Ratio float32 `persist:"ratio"`
	}
	tb := mustOpen[after](t, dir, nil)
	require.Equal(t, after{A: -49, Ratio: 49.0 / 4}, tb.Row(49))
	require.Empty(t, tb.Recovered().SchemaChanges)
	m := manifestOf(t, dir)
	var ops []string
	for _, h := range m.History {
		ops = append(ops, h.Op)
	}
	require.Equal(t, []string{"create", "create", "create", "rename", "drop"}, ops)
}

// A migration runs once, at the stored data version, and the table then
// opens at the new one; a failed one leaves the version.
func TestMigrate(t *testing.T) {
	dir := evTable(t, 20)
	calls := 0
	double := func(tb *table.Table[evV1], from uint32) error {
		calls++
		require.Equal(t, uint32(0), from)
		b, err := table.Column[float32](tb, "B")
		require.NoError(t, err)
		return tb.Update(func() error {
			s := b.Slice()
			for i := range s {
				s[i] *= 2
			}
			return nil
		})
	}
	fail := func(*table.Table[evV1], uint32) error { return os.ErrInvalid }
	_, err := table.Migrate(dir, 1, fail, nil)
	require.ErrorIs(t, err, os.ErrInvalid)
	require.Equal(t, uint32(0), manifestOf(t, dir).DataVersion)

	tb, err := table.Migrate(dir, 1, double, nil)
	require.NoError(t, err)
	require.Equal(t, 1, calls)
	require.Equal(t, float32(19)/2, tb.Row(19).B)
	require.NoError(t, tb.Append(evRow(20)))
	ch := tb.Recovered().SchemaChanges
	require.Equal(t, "migrate", ch[len(ch)-1].Op)
	require.NoError(t, tb.Close())

	tb, err = table.Migrate(dir, 1, double, nil)
	require.NoError(t, err)
	require.Equal(t, 1, calls, "at its version, no migration")
	require.Equal(t, 21, tb.Len())
	require.NoError(t, tb.Close())
	_, err = table.Open[evV1](dir, nil)
	require.ErrorIs(t, err, table.ErrDataVersion)
	_, err = table.Migrate(dir, 0, double, nil)
	require.ErrorIs(t, err, table.ErrDataVersion, "no going back")
	r := mustOpen[evV1](t, dir, &table.Options{ReadOnly: true, DataVersion: 1})
	require.Equal(t, float32(19)/2, r.Row(19).B)
}

// A column named like a stored one but for case is neither an add nor a
// rename: the names are one, and the open says so.
func TestEvolveCaseOnly(t *testing.T) {
	dir := evTable(t, 10)
	type upper struct {
		A int32
		X float32 `persist:"b"`
		C [2]uint16
	}
	_, err := table.Open[upper](dir, &table.Options{DropColumns: true})
	require.ErrorIs(t, err, table.ErrSchema)
	require.ErrorContains(t, err, `names column "b", and the table has "B"`)
	require.Equal(t, 3, len(manifestOf(t, dir).Columns), "nothing changed")
}

// Schema steps that only add columns, which a writer makes beside readers.
type (
	addV1 struct{ A int64 }
	addV2 struct {
		A int64
		B int32
	}
	addV3 struct {
		A int64
		B int32
		C string
	}
	addV4 struct {
		A int64
		B int32
		C string
		D [3]float32
	}
)

// appendZeros opens dir for R (adding its new columns), appends n zero
// rows and closes it.
func appendZeros[R any](t *testing.T, dir string, n int) {
	w, err := table.Open[R](dir, &table.Options{LockTimeout: 5 * time.Second})
	require.NoError(t, err)
	var zero R
	for range n {
		require.NoError(t, w.Append(zero))
	}
	require.NoError(t, w.Close())
}

// Readers open (as Any and as the first schema) again and again while a
// writer adds columns, which it may do beside readers. A reader that read
// the manifest before a change and COMMIT after it must open again under
// the new manifest, not report COMMIT damaged. Guards a bug in which such
// an open failed with ErrCorrupt ("both commit slots fail their checks").
func TestReadersOpenBesideAddedColumns(t *testing.T) {
	for round := range 10 {
		dir := filepath.Join(t.TempDir(), "t")
		appendZeros[addV1](t, dir, 100)
		var stop atomic.Bool
		errc := make(chan error, 1)
		opens := 0
		go func() {
			var err error
			for ; err == nil && !stop.Load(); opens++ {
				o := &table.Options{ReadOnly: true, LockTimeout: 5 * time.Second}
				var r interface {
					Refresh() error
					Close() error
				}
				if opens%2 == 0 {
					r, err = table.Open[table.Any](dir, o)
				} else {
					r, err = table.Open[addV1](dir, o)
				}
				if err == nil {
					err = errors.Join(r.Refresh(), r.Close())
				}
				if errors.Is(err, table.ErrBusy) {
					err = nil
				}
			}
			errc <- err
		}()
		appendZeros[addV2](t, dir, 10)
		appendZeros[addV3](t, dir, 10)
		appendZeros[addV4](t, dir, 10)
		stop.Store(true)
		require.NoError(t, <-errc, "round %d, after %d opens", round, opens)
	}
}

// migVals has a column of each variable-length kind.
type migVals struct {
	A int64
	S string
	B []byte
	Y table.Symbol
}

// Migrate of a table with string, bytes and Symbol columns: the callback
// rewrites values, and the migrated table (returned, then reopened at the
// new version) holds them and checks clean. Guards a bug in which Migrate
// kept the closed variable-length columns beside the reopened ones: it
// returned "closed" after the switch was made (strings), or panicked
// (symbols).
func TestMigrateVariableLengthColumns(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t")
	tb := mustOpen[migVals](t, dir, nil)
	for i := range 50 {
		require.NoError(t, tb.Append(migVals{A: int64(i), S: fmt.Sprint("s", i), B: []byte{byte(i)}, Y: table.Symbol(fmt.Sprint("y", i%3))}))
	}
	require.NoError(t, tb.Close())
	want := func(i int) migVals {
		return migVals{A: int64(i), S: fmt.Sprint("S", i), B: []byte{byte(i), 1}, Y: table.Symbol(fmt.Sprint("Y", i%3))}
	}
	m, err := table.Migrate(dir, 1, func(tb *table.Table[migVals], from uint32) error {
		for i := range tb.Len() {
			if err := tb.SetRow(i, want(i)); err != nil {
				return err
			}
		}
		return nil
	}, nil)
	require.NoError(t, err)
	for range 2 {
		require.Equal(t, 50, m.Len())
		for i := range m.Len() {
			require.Equal(t, want(i), m.Row(i))
		}
		require.NoError(t, m.Append(want(50)))
		require.NoError(t, m.Truncate(50))
		require.NoError(t, m.Close())
		m = mustOpen[migVals](t, dir, &table.Options{DataVersion: 1})
	}
	require.NoError(t, m.Close())
	rep, err := table.Check(dir)
	require.NoError(t, err)
	require.Empty(t, rep.Problems)
}

// TestMigrateCompacts: a migration that rewrites every value leaves the old
// ones as garbage, and compacting inside the callback is the natural place
// to drop it. Migrate keeps readers out around the callback already, so
// Compact must not try to take that lock a second time (it failed with a
// ReadersError naming the process itself).
// (And a migration asked to be read-only is an ErrOptions error.)
func TestMigrateCompacts(t *testing.T) {
	_, err := table.Migrate(filepath.Join(t.TempDir(), "t"), 1, func(*table.Table[migVals], uint32) error { return nil }, &table.Options{ReadOnly: true})
	require.ErrorIs(t, err, table.ErrOptions, "a read-only migration")

	dir := filepath.Join(t.TempDir(), "t")
	tb := mustOpen[migVals](t, dir, nil)
	for i := range 50 {
		require.NoError(t, tb.Append(migVals{A: int64(i), S: fmt.Sprint("s", i)}))
	}
	require.NoError(t, tb.Close())
	heap := filepath.Join(dir, "S.bytes")
	m, err := table.Migrate(dir, 1, func(tb *table.Table[migVals], from uint32) error {
		for i := range tb.Len() {
			if err := tb.SetRow(i, migVals{A: int64(i), S: fmt.Sprint("S", i)}); err != nil {
				return err
			}
		}
		before, err := os.Stat(heap)
		if err != nil {
			return err
		}
		if err := tb.Compact(); err != nil {
			return err
		}
		after, err := os.Stat(heap)
		if err != nil {
			return err
		}
		if after.Size() >= before.Size() {
			return fmt.Errorf("the heap did not shrink: %d bytes before Compact, %d after", before.Size(), after.Size())
		}
		return nil
	}, &table.Options{LockTimeout: time.Second})
	require.NoError(t, err)
	defer func() { require.NoError(t, m.Close()) }()
	require.Equal(t, 50, m.Len())
	for i := range 50 {
		require.Equal(t, migVals{A: int64(i), S: fmt.Sprint("S", i)}, m.Row(i))
	}
	// Readers are let in again after it.
	r := mustOpen[migVals](t, dir, &table.Options{ReadOnly: true, DataVersion: 1})
	require.Equal(t, 50, r.Len())
	require.NoError(t, r.Close())
}
