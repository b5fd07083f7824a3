package table_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence/table"
)

// A row refused for a value past MaxValueSize adds no symbol to a
// dictionary (entries are never removed): before, the column, holding no
// distinct value, then refused its first one with ErrSymbolLimit.
func TestRefusedRowLeavesNoSymbol(t *testing.T) {
	type row struct {
		Sym table.Symbol
		S   string
	}
	dir := filepath.Join(t.TempDir(), "t")
	opts := &table.Options{MaxValueSize: 4, MaxSymbols: 1}
	tb := mustOpen[row](t, dir, opts)
	require.ErrorIs(t, tb.Append(row{Sym: "a", S: "too long"}), table.ErrValueTooLarge)
	require.Equal(t, 0, tb.Len())
	syms, err := table.Symbols(tb, "Sym")
	require.NoError(t, err)
	require.Equal(t, 0, syms.Symbols(), "a refused row added a dictionary entry")
	require.NoError(t, tb.Append(row{Sym: "b"}), "the column holds no distinct value yet; MaxSymbols is 1")
	require.NoError(t, tb.Close())
}

// The same through AppendRows: a batch refused with ErrSymbolLimit (it
// would add two values where one is left) writes no row and adds no
// entry, across a reopen and Compact.
func TestRefusedBatchLeavesNoSymbol(t *testing.T) {
	type row struct {
		ID  int64
		Sym table.Symbol
	}
	dir := filepath.Join(t.TempDir(), "t")
	opts := &table.Options{MaxSymbols: 2}
	tb := mustOpen[row](t, dir, opts)
	require.NoError(t, tb.Append(row{1, "DE"}))
	require.ErrorIs(t, tb.AppendRows([]row{{2, "FR"}, {3, "US"}}), table.ErrSymbolLimit)
	require.Equal(t, 1, tb.Len(), "no row of the refused batch")
	require.NoError(t, tb.Close())

	tb = mustOpen[row](t, dir, opts)
	defer tb.Close()
	require.NoError(t, tb.Compact())
	require.NoError(t, tb.Append(row{4, "IT"}), "the column holds 1 distinct value; MaxSymbols is 2")
}
