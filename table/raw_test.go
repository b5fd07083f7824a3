package table_test

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence/table"
)

// AppendElem copies an element's bytes out of a table opened as Any, by
// column name or Go field name, and checks its arguments.
func TestAppendElem(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t")
	w := mustOpen[Particle](t, dir, nil)
	require.NoError(t, w.AppendRows(particles(seq(0, 5)...)))

	a, err := table.Open[table.Any](dir, &table.Options{ReadOnly: true})
	require.NoError(t, err)
	defer a.Close()
	b, err := a.AppendElem([]byte("x"), "id", 3)
	require.NoError(t, err)
	require.Equal(t, []byte("x"), b[:1], "appended to dst")
	require.Equal(t, uint32(3), binary.NativeEndian.Uint32(b[1:]))
	b, err = a.AppendElem(nil, "Mass", 4)
	require.NoError(t, err)
	require.Equal(t, 2.0, math.Float64frombits(binary.NativeEndian.Uint64(b)))
	b, err = a.AppendElem(nil, "ID", 2) // the Go field name
	require.NoError(t, err)
	require.Len(t, b, 4)
	b, err = a.AppendElem(nil, "Pos", 1)
	require.NoError(t, err)
	require.Len(t, b, 12)
	require.Equal(t, float32(2), math.Float32frombits(binary.NativeEndian.Uint32(b[4:])), "Pos.Y of row 1")

	_, err = a.AppendElem(nil, "nope", 0)
	require.ErrorIs(t, err, table.ErrNoColumn)
	_, err = a.AppendElem(nil, "id", 5)
	require.ErrorIs(t, err, table.ErrRange)
	_, err = a.AppendElem(nil, "id", -1)
	require.ErrorIs(t, err, table.ErrRange)

	// A copy: changing it changes nothing in the table.
	b, err = a.AppendElem(nil, "id", 0)
	require.NoError(t, err)
	b[0] = 0xff
	require.Equal(t, uint32(0), w.Row(0).ID)

	require.NoError(t, a.Close())
	_, err = a.AppendElem(nil, "id", 0)
	require.ErrorIs(t, err, table.ErrClosed)
}

// Writer names the writer that has the table open, as a reader sees it.
func TestWriterAccessor(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t")
	w, err := table.Open[Particle](dir, nil)
	require.NoError(t, err)
	pid, open := w.Writer()
	require.True(t, open, "a writable table is its own writer")
	require.Equal(t, os.Getpid(), pid)

	r, err := table.Open[table.Any](dir, &table.Options{ReadOnly: true})
	require.NoError(t, err)
	defer r.Close()
	pid, open = r.Writer()
	require.True(t, open)
	require.Equal(t, os.Getpid(), pid)

	require.NoError(t, w.Close())
	pid, open = r.Writer()
	require.False(t, open, "the writer closed")
	require.Zero(t, pid)
	require.NoError(t, r.Close())
	_, open = r.Writer()
	require.False(t, open)
}
