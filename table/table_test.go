package table_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence"
	"github.com/mmapvec/persistence/internal/bootid"
	"github.com/mmapvec/persistence/mmap"
	"github.com/mmapvec/persistence/table"
)

type Vec3 struct{ X, Y, Z float32 }

type Particle struct {
	Pos   Vec3
	Vel   Vec3
	Mass  float64
	ID    uint32 `persist:"id"`
	Scrap int    `persist:"-"`
	//lint:ignore U1000 an unexported field, to show it is not stored
	note string
}

func mustOpen[R any](t *testing.T, dir string, opts *table.Options) *table.Table[R] {
	t.Helper()
	tb, err := table.Open[R](dir, opts)
	require.NoError(t, err)
	t.Cleanup(func() {
		checkConsistent(t, tb)
		require.NoError(t, tb.Close())
		mustCheck(t, dir)
	})
	return tb
}

// checkConsistent asserts every column has Len rows.
func checkConsistent[R any](t *testing.T, tb *table.Table[R]) {
	t.Helper()
	for _, c := range table.Columns(tb) {
		require.Equal(t, tb.Len(), c.Len, "column %s", c.Name)
		require.Equal(t, tb.Len(), c.FileLen, "column file %s", c.Name)
	}
}

func p(i int) Particle {
	f := float32(i)
	return Particle{Pos: Vec3{f, f + 1, f + 2}, Vel: Vec3{-f, 0, 1}, Mass: float64(i) / 2, ID: uint32(i)}
}

func TestCreateAppendReopen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "particles")
	tb, err := table.Open[Particle](dir, nil)
	require.NoError(t, err)
	require.True(t, tb.Recovered().Created)
	for i := range 100 {
		require.NoError(t, tb.Append(p(i)))
	}
	batch := make([]Particle, 900)
	for i := range batch {
		batch[i] = p(100 + i)
	}
	require.NoError(t, tb.AppendRows(batch))
	require.Equal(t, 1000, tb.Len())
	require.NoError(t, tb.Sync())
	require.NoError(t, tb.Close())
	require.NoError(t, tb.Close())
	require.ErrorIs(t, tb.Append(p(0)), table.ErrClosed)

	names, err := filepath.Glob(filepath.Join(dir, "*"))
	require.NoError(t, err)
	var base []string
	for _, n := range names {
		base = append(base, filepath.Base(n))
	}
	require.ElementsMatch(t, []string{"COMMIT", "JOURNAL", "LOCK", "Mass.col", "Pos.col", "READERS", "Vel.col", "WAL", "id.col", "manifest.json"}, base)

	tb = mustOpen[Particle](t, dir, nil)
	require.False(t, tb.Recovered().Created)
	require.Equal(t, table.SourceLive, tb.Recovered().Source)
	require.Equal(t, 1000, tb.Len())
	for _, i := range []int{0, 99, 100, 999} {
		require.Equal(t, p(i), tb.Row(i))
	}
	require.Panics(t, func() { tb.Row(1000) })

	pos, err := table.Column[Vec3](tb, "Pos")
	require.NoError(t, err)
	require.Equal(t, Vec3{5, 6, 7}, pos.Slice()[5])
	ids, err := table.Column[uint32](tb, "id")
	require.NoError(t, err)
	require.Equal(t, uint32(999), ids.Get(999))
	ids2, err := table.Column[uint32](tb, "ID")
	require.NoError(t, err, "the Go field name works too")
	require.Equal(t, ids.Len(), ids2.Len())
	mass, err := table.Col(tb, func(r *Particle) *float64 { return &r.Mass })
	require.NoError(t, err)
	require.Equal(t, 499.5, mass.Get(999))

	_, err = table.Column[float32](tb, "Mass")
	require.Error(t, err, "a wrong T is an error")
	_, err = table.Column[float64](tb, "nope")
	require.ErrorIs(t, err, table.ErrNoColumn)
	_, err = table.Col(tb, func(r *Particle) *int { return &r.Scrap })
	require.ErrorIs(t, err, table.ErrNoColumn)
}

func TestLiveSliceSurvivesGrowth(t *testing.T) {
	tb := mustOpen[Particle](t, t.TempDir(), nil)
	require.NoError(t, tb.Append(p(0)))
	mass, err := table.Column[float64](tb, "Mass")
	require.NoError(t, err)
	old := mass.Slice()
	rows := make([]Particle, 100_000)
	for range 10 {
		require.NoError(t, tb.AppendRows(rows))
	}
	require.Equal(t, 0.0, old[0])
	old[0] = 42
	require.Equal(t, 42.0, tb.Row(0).Mass)
	require.Equal(t, 1_000_001, mass.Len())
}

func TestRowOps(t *testing.T) {
	tb := mustOpen[Particle](t, t.TempDir(), nil)
	for i := range 10 {
		require.NoError(t, tb.Append(p(i)))
	}
	require.NoError(t, tb.SetRow(3, p(33)))
	require.Equal(t, p(33), tb.Row(3))
	require.NoError(t, tb.SwapRemove(0))
	require.Equal(t, 9, tb.Len())
	require.Equal(t, p(9), tb.Row(0))
	require.NoError(t, tb.SwapRemove(8)) // the last row
	require.Equal(t, 8, tb.Len())
	require.NoError(t, tb.Truncate(5))
	require.Equal(t, 5, tb.Len())
	require.Error(t, tb.Truncate(6))
	require.ErrorIs(t, tb.SetRow(5, p(0)), table.ErrRange)
	require.ErrorIs(t, tb.SwapRemove(-1), table.ErrRange)
	require.NoError(t, tb.AppendRows(nil))
	require.NoError(t, tb.Sync())
}

func TestSchemaMismatch(t *testing.T) {
	dir := t.TempDir()
	tb, err := table.Open[Particle](dir, nil)
	require.NoError(t, err)
	require.NoError(t, tb.Close())

	type Changed struct {
		Pos   Vec3
		Mass  float32 // retyped
		ID    uint32  `persist:"id"`
		Extra int64   // added
		// Vel removed
	}
	_, err = table.Open[Changed](dir, nil)
	require.ErrorIs(t, err, table.ErrSchema)
	require.ErrorContains(t, err, `column "Mass" (field Mass): float64 to float32 is a narrowing or a retype, not a lossless widening`)

	// Without the narrowing, what is left is a drop, which must be asked for.
	type Narrower struct {
		Pos   Vec3
		Mass  float64
		ID    uint32 `persist:"id"`
		Extra int64
	}
	_, err = table.Open[Narrower](dir, nil)
	require.ErrorIs(t, err, table.ErrSchema)
	require.ErrorContains(t, err, `lacks column(s) "Vel"`)
	require.ErrorContains(t, err, "Options.DropColumns")
	r, err := table.Open[Narrower](dir, &table.Options{ReadOnly: true})
	require.ErrorIs(t, err, table.ErrSchema, "a reader cannot add Extra")
	require.Nil(t, r)
}

func TestBadRecordTypes(t *testing.T) {
	cases := map[string]func(dir string) error{
		"not a struct": func(d string) error { _, err := table.Open[int](d, nil); return err },
		"slice field":  func(d string) error { _, err := table.Open[struct{ Tags []string }](d, nil); return err },
		"string array": func(d string) error { _, err := table.Open[struct{ Names [2]string }](d, nil); return err },
		"no columns":   func(d string) error { _, err := table.Open[struct{ a int }](d, nil); return err },
		"bad tag name": func(d string) error {
			_, err := table.Open[struct {
				A int `persist:"../x"`
			}](d, nil)
			return err
		},
		"duplicate name": func(d string) error {
			_, err := table.Open[struct {
				A, B int `persist:"a"`
			}](d, nil)
			return err
		},
	}
	for name, open := range cases {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "tb")
			err := open(dir)
			require.ErrorIs(t, err, table.ErrType)
			_, statErr := os.Stat(dir)
			require.True(t, os.IsNotExist(statErr), "nothing is created")
		})
	}
	err := func() error { _, err := table.Open[struct{ Names []int }](t.TempDir(), nil); return err }()
	require.ErrorIs(t, err, mmap.ErrType)
	require.Contains(t, err.Error(), "Names")
}

func TestOpenExistingEmptyDirAndForeignDir(t *testing.T) {
	dir := t.TempDir()
	tb := mustOpen[Particle](t, dir, nil)
	require.True(t, tb.Recovered().Created)

	foreign := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(foreign, "notes.txt"), []byte("mine"), 0o644))
	_, err := table.Open[Particle](foreign, nil)
	require.ErrorIs(t, err, table.ErrNotTable)
	b, _ := os.ReadFile(filepath.Join(foreign, "notes.txt"))
	require.Equal(t, "mine", string(b), "a foreign directory is left alone")

	_, err = table.Open[Particle](filepath.Join(t.TempDir(), "missing"), &table.Options{ReadOnly: true})
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestReadOnlyAndLocks(t *testing.T) {
	dir := t.TempDir()
	w, err := table.Open[Particle](dir, nil)
	require.NoError(t, err)
	require.NoError(t, w.Append(p(1)))
	_, err = table.Open[Particle](dir, nil)
	require.ErrorIs(t, err, table.ErrLocked, "writer excludes writer")
	require.Contains(t, err.Error(), "pid")
	r0, err := table.Open[Particle](dir, &table.Options{ReadOnly: true})
	require.NoError(t, err, "a reader opens beside the writer")
	require.Equal(t, p(1), r0.Row(0))
	require.NoError(t, r0.Close())
	require.NoError(t, w.Close())

	before := snapshot(t, dir)
	r1 := mustOpen[Particle](t, dir, &table.Options{ReadOnly: true})
	r2 := mustOpen[Particle](t, dir, &table.Options{ReadOnly: true})
	require.Equal(t, p(1), r1.Row(0))
	require.Equal(t, 1, r2.Len())
	require.ErrorIs(t, r1.Append(p(2)), table.ErrReadOnly)
	require.ErrorIs(t, r1.Sync(), table.ErrReadOnly)
	require.ErrorIs(t, r1.SetRow(0, p(2)), table.ErrReadOnly)
	require.Equal(t, before, snapshot(t, dir), "read-only opens write nothing")
	w, err = table.Open[Particle](dir, nil)
	require.NoError(t, err, "readers do not keep a writer out")
	require.NoError(t, w.Close())
}

// snapshot returns every file's content in dir.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		out[e.Name()] = string(b)
	}
	return out
}

func TestRebootKeepsLastSync(t *testing.T) {
	dir := t.TempDir()
	tb, err := table.Open[Particle](dir, nil)
	require.NoError(t, err)
	for i := range 10 {
		require.NoError(t, tb.Append(p(i)))
	}
	require.NoError(t, tb.Sync())
	for i := 10; i < 15; i++ {
		require.NoError(t, tb.Append(p(i)))
	}
	require.NoError(t, tb.SetRow(2, p(200)))
	require.NoError(t, tb.Close())

	bootid.Override("after a reboot")
	defer bootid.Override("")
	tb = mustOpen[Particle](t, dir, nil)
	rec := tb.Recovered()
	require.Equal(t, table.SourceCommitted, rec.Source)
	require.Equal(t, 10, tb.Len(), "exactly as of the last Sync: %s", rec)
	require.Equal(t, 10, rec.CommittedRows)
}

func TestManifest(t *testing.T) {
	dir := t.TempDir()
	tb := mustOpen[Particle](t, dir, nil)
	m := tb.Manifest()
	require.Equal(t, persistence.HostArch(), m.Arch)
	require.NotEmpty(t, m.Created.CPU.Vendor+m.Created.CPU.Brand+m.Arch.GOARCH)
	disk, err := persistence.ReadManifest(dir)
	require.NoError(t, err)
	require.Len(t, disk.Columns, 4)
	require.Equal(t, "id", disk.Columns[3].Name)
	require.Equal(t, "id.col", disk.Columns[3].File)
	require.True(t, strings.HasPrefix(disk.Columns[0].Layout.String(), "size=12 align=4"))
}

// TestIntOverInt64Column checks the message for a field of int over a
// column of int64: one size here, but distinct types, since int follows
// the machine's word.
func TestIntOverInt64Column(t *testing.T) {
	if strconv.IntSize != 64 {
		t.Skip("int is int64's size on 64-bit machines only")
	}
	dir := t.TempDir()
	type Fixed struct{ N int64 }
	tb, err := table.Open[Fixed](dir, nil)
	require.NoError(t, err)
	require.NoError(t, tb.Close())
	type Word struct{ N int }
	_, err = table.Open[Word](dir, nil)
	require.ErrorIs(t, err, table.ErrSchema)
	require.ErrorContains(t, err, "int64 and int are distinct column types of one size")
}
