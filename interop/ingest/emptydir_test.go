package ingest_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence/interop/ingest"
)

// The package doc: "a new table is removed when its import fails (an
// empty directory that was there is left empty)". ingest.run removes the
// empty directory before table.Create, and when Create itself fails (a
// file column name no table takes: ErrSchema) it once returned without
// making the directory again.
func TestBadNamesKeepEmptyDirectory(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "bad.csv")
	require.NoError(t, os.WriteFile(file, []byte("a b,c\n1,2\n"), 0o644))
	dst := filepath.Join(dir, "dst")
	require.NoError(t, os.Mkdir(dst, 0o750))
	_, err := importFile(dst, file, nil)
	require.ErrorIs(t, err, ingest.ErrSchema)
	require.DirExists(t, dst, "the empty directory the import was given")
}
