package table

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence/internal/bootid"
)

// logTwoCols makes a closed table of two uint64 columns with 100 rows,
// checkpointed (its log spent), and returns its directory, seq and hash.
func logTwoCols(t *testing.T) (string, uint64, uint64) {
	type row struct{ A, B uint64 }
	dir := filepath.Join(t.TempDir(), "t")
	tb, err := Open[row](dir, nil)
	require.NoError(t, err)
	for i := range 100 {
		require.NoError(t, tb.Append(row{uint64(i), uint64(i)}))
	}
	require.NoError(t, tb.Sync())
	require.NoError(t, tb.Close())
	return dir, tb.seq, tb.hash
}

func logWithRecord(t *testing.T, dir string, rec []byte) string {
	img := filepath.Join(t.TempDir(), "t")
	require.NoError(t, os.CopyFS(img, os.DirFS(dir)))
	f, err := os.OpenFile(filepath.Join(img, walFile), os.O_RDWR, 0)
	require.NoError(t, err)
	_, err = f.WriteAt(rec, walRecordsAt)
	require.NoError(t, errors.Join(err, f.Close()))
	return img
}

func logElems(from, n int) []byte {
	b := make([]byte, 0, 8*n)
	for i := range n {
		b = ne.AppendUint64(b, uint64(from+i))
	}
	return b
}

// A logged record with a valid CRC whose meaning contradicts the table (a
// .col length other than the row count, a write past its file's length):
// every open refuses it with ErrCorrupt, in the writer's boot and after a
// restart, and Check must report it as well.
func TestCheckAgreesWithOpenOnLogLengths(t *testing.T) {
	type row struct{ A, B uint64 }
	dir, seq, hash := logTwoCols(t)
	cases := map[string][]byte{}
	{ // column B claims 101 rows while the table has 102
		var e walEncoder
		e.begin(seq+1, hash, 102, []uint64{102, 101}, nil)
		e.add(0, 100, 2, logElems(100, 2))
		e.add(1, 100, 1, logElems(100, 1))
		cases["a .col length that is not the row count"] = append([]byte(nil), e.end()...)
	}
	{ // a write past its file's length
		var e walEncoder
		e.begin(seq+1, hash, 101, []uint64{101, 101}, nil)
		e.add(0, 100, 1, logElems(100, 1))
		e.add(1, 100, 3, logElems(100, 3))
		cases["a write past its file's length"] = append([]byte(nil), e.end()...)
	}
	for name, rec := range cases {
		img := logWithRecord(t, dir, rec)
		for _, boot := range []string{"", "after a restart"} {
			bootid.Override(boot)
			tb, err := Open[row](img, &Options{ReadOnly: true})
			if err == nil {
				tb.Close()
			}
			assert.ErrorIs(t, err, ErrCorrupt, "%s: open, boot %q", name, boot)
			rep, err := Check(img)
			require.NoError(t, err)
			assert.False(t, rep.OK(), "%s, boot %q: open refuses it with ErrCorrupt, Check finds nothing: %s %v", name, boot, rep, rep.Notes)
		}
		bootid.Override("")
	}
}

// In the writer's boot the column files hold every logged Sync, so a
// chain whose lengths run past the files (and carry the elements) is
// refused by every open of this boot with ErrCorrupt; Check must judge the
// chain as the open does, not as after a restart.
func TestCheckAgreesWithOpenOnLiveChainPastFiles(t *testing.T) {
	type row struct{ A, B uint64 }
	dir, seq, hash := logTwoCols(t)
	var e walEncoder
	e.begin(seq+1, hash, 5000, []uint64{5000, 5000}, nil)
	e.add(0, 100, 4900, logElems(100, 4900))
	e.add(1, 100, 4900, logElems(100, 4900))
	img := logWithRecord(t, dir, e.end())
	for _, o := range []*Options{nil, {ReadOnly: true}} {
		tb, err := Open[row](img, o)
		if err == nil {
			tb.Close()
		}
		require.ErrorIs(t, err, ErrCorrupt, "open %+v", o)
	}
	rep, err := Check(img)
	require.NoError(t, err)
	require.False(t, rep.OK(), "every open of this boot refuses it with ErrCorrupt, Check finds nothing: %s %v", rep, rep.Notes)
}
