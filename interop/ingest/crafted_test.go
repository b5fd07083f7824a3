package ingest_test

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence/interop/export"
	"github.com/mmapvec/persistence/table"
)

// craft rewrites a Parquet file's footer (FileMetaData) through edit.
func craft(t *testing.T, whole []byte, edit func(*format.FileMetaData)) []byte {
	t.Helper()
	n := int(binary.LittleEndian.Uint32(whole[len(whole)-8:]))
	footer := whole[len(whole)-8-n : len(whole)-8]
	var md format.FileMetaData
	proto := &thrift.CompactProtocol{}
	require.NoError(t, thrift.Unmarshal(proto, footer, &md))
	edit(&md)
	out, err := thrift.Marshal(proto, &md)
	require.NoError(t, err)
	b := bytes.Clone(whole[:len(whole)-8-n])
	b = append(b, out...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(out)))
	return append(b, "PAR1"...)
}

// A hostile file must not cost unbounded memory. The file's
// persistence.columns metadata went to export.Leaves unchecked, which
// expands every array level by the count it gives: a file of a few KiB
// whose metadata said one column is an array of 1<<18 int64 made the
// import allocate another 100 MiB (counts multiply across levels). Such
// metadata is now ignored (the file's flat columns are imported).
func TestCraftedColumnsMetadataAllocation(t *testing.T) {
	type row struct{ A int64 }
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	tb, err := table.Open[row](src, nil)
	require.NoError(t, err)
	require.NoError(t, tb.AppendRows([]row{{1}, {2}}))
	require.NoError(t, tb.Close())
	good := filepath.Join(dir, "good.parquet")
	exportFile(t, src, good, nil)
	whole, err := os.ReadFile(good)
	require.NoError(t, err)
	bad := craft(t, whole, func(m *format.FileMetaData) {
		for i, kv := range m.KeyValueMetadata {
			if kv.Key == export.ColumnsKey {
				m.KeyValueMetadata[i].Value = `[{"id":1,"field":"F0","name":"A","file":"A.col","offset":0,` +
					`"layout":{"size":2097152,"align":8,"leaves":[{"path":"[]","kind":"int64","offset":0,"size":8,"dims":[{"count":262144,"stride":8}]}]}}]`
			}
		}
	})
	path := filepath.Join(dir, "bad.parquet")
	require.NoError(t, os.WriteFile(path, bad, 0o644))

	imported := func(file, dst string) uint64 {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		n, err := importFile(filepath.Join(dir, dst), file, nil)
		runtime.ReadMemStats(&after)
		require.NoError(t, err)
		require.Equal(t, 2, n)
		return after.TotalAlloc - before.TotalAlloc
	}
	base := imported(good, "dst-good") // a new table's own buffers
	alloc := imported(path, "dst")
	t.Logf("import of a %d-byte file: %d MiB allocated, %d MiB for the file it was made from", len(bad), alloc>>20, base>>20)
	require.Less(t, alloc, base+16<<20, "a %d-byte file made the import allocate %d MiB", len(bad), alloc>>20)
}

// The same metadata reached reflect.ArrayOf unchecked (ingest.typeOf): a
// leaf inside an array of -1 items expands to no flat column, so the file
// still matched, and rebuilding the column's Go type panicked ("reflect:
// negative length passed to ArrayOf").
func TestCraftedColumnsMetadataPanics(t *testing.T) {
	type inner struct{ Y int64 }
	type row struct{ A inner }
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	tb, err := table.Open[row](src, nil)
	require.NoError(t, err)
	require.NoError(t, tb.AppendRows([]row{{inner{1}}, {inner{2}}}))
	require.NoError(t, tb.Close())
	good := filepath.Join(dir, "good.parquet")
	exportFile(t, src, good, nil)
	whole, err := os.ReadFile(good)
	require.NoError(t, err)
	bad := craft(t, whole, func(m *format.FileMetaData) {
		for i, kv := range m.KeyValueMetadata {
			if kv.Key == export.ColumnsKey {
				m.KeyValueMetadata[i].Value = `[{"id":1,"field":"F0","name":"A","file":"A.col","offset":0,` +
					`"layout":{"size":8,"align":8,"leaves":[{"path":"X[]","kind":"int64","offset":0,"size":8,"dims":[{"count":-1,"stride":8}]},` +
					`{"path":"Y","kind":"int64","offset":0,"size":8}]}}]`
			}
		}
	})
	path := filepath.Join(dir, "bad.parquet")
	require.NoError(t, os.WriteFile(path, bad, 0o644))
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("import of a crafted file panicked: %v", p)
		}
	}()
	n, err := importFile(filepath.Join(dir, "dst"), path, nil)
	t.Logf("n=%d err=%v", n, err)
}
