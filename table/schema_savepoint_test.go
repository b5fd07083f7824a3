package table_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence/table"
)

type spSchemaV1 struct {
	ID int64
	S  string
	N  int16
}

// spSchemaAdd adds a column, spSchemaWiden widens N, spSchemaDrop drops S.
type spSchemaAdd struct {
	ID int64
	S  string
	N  int16
	T  table.Symbol
}
type spSchemaWiden struct {
	ID int64
	S  string
	N  int32
}
type spSchemaDrop struct {
	ID int64
	N  int16
}

// TestSavePointSchemaChange: Options.SavePoint opens the table as of its
// last Sync, also when the open changes the schema. Such an open once
// opened the old schema without SavePoint and committed the rows appended
// after the last Sync (its meta then paired with 15 rows, not 10).
func TestSavePointSchemaChange(t *testing.T) {
	for _, change := range []string{"none", "add", "widen", "drop"} {
		t.Run(change, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "t")
			tb, err := table.Open[spSchemaV1](dir, nil)
			require.NoError(t, err)
			for i := range 15 {
				require.NoError(t, tb.Append(spSchemaV1{ID: int64(i), S: fmt.Sprint("s", i), N: int16(i)}))
				if i == 9 {
					require.NoError(t, tb.SyncMeta([]byte("at 10 rows")))
				}
			}
			require.NoError(t, tb.Close()) // rows 10..14 were never synced
			o := &table.Options{SavePoint: true, DropColumns: true}
			var n int
			var meta string
			get := func(l int, m []byte, err error) {
				require.NoError(t, err)
				n, meta = l, string(m)
			}
			switch change {
			case "none":
				x, err := table.Open[spSchemaV1](dir, o)
				require.NoError(t, err)
				get(x.Len(), x.Meta(), x.Close())
			case "add":
				x, err := table.Open[spSchemaAdd](dir, o)
				require.NoError(t, err)
				get(x.Len(), x.Meta(), x.Close())
			case "widen":
				x, err := table.Open[spSchemaWiden](dir, o)
				require.NoError(t, err)
				get(x.Len(), x.Meta(), x.Close())
			case "drop":
				x, err := table.Open[spSchemaDrop](dir, o)
				require.NoError(t, err)
				get(x.Len(), x.Meta(), x.Close())
			}
			require.Equal(t, "at 10 rows", meta)
			require.Equal(t, 10, n, "a SavePoint open keeps only the rows of the last Sync, whatever schema change it makes")
		})
	}
}
