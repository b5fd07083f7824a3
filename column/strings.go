package column

import (
	"iter"

	"github.com/mmapvec/persistence/internal/varcol"
)

// Strings is a view of a string or []byte column of a table (from
// table.Strings). Its values come straight from the mapping, without a
// copy: a string or []byte it returns shares the file's memory and is
// valid until the table is closed, like a slice from [Of.Slice]. Never
// change the bytes of a []byte it returns (they are the stored value, and
// other rows may share them); use the table's SetRow.
//
// Any number of goroutines may read through views while one goroutine
// appends to the table.
type Strings varcol.StringView

func (s *Strings) v() *varcol.StringView { return (*varcol.StringView)(s) }

// Name returns the column's name.
func (s *Strings) Name() string { return s.v().Name() }

// Len returns the number of rows; 0 after the table's Close.
func (s *Strings) Len() int { return s.v().Len() }

// String returns row i's value, sharing the mapping. It panics if i is out
// of range, like a slice index, and after the table is closed.
func (s *Strings) String(i int) string { return s.v().String(i) }

// Bytes returns row i's value as a read-only []byte into the mapping (nil
// for an empty value). It panics like String.
func (s *Strings) Bytes(i int) []byte { return s.v().Bytes(i) }

// All iterates over the rows present when it starts, yielding each value
// without a copy.
func (s *Strings) All() iter.Seq2[int, string] { return s.v().All() }

// TotalLen returns the summed length in bytes of the values of the rows
// present now, from their offsets alone. A column of more than 256k rows
// is summed in blocks by up to GOMAXPROCS goroutines: the scan is bound by
// memory bandwidth, which each core adds to.
func (s *Strings) TotalLen() int { return s.v().TotalLen() }

// Symbols is a view of a table.Symbol column (from table.Symbols): each
// row holds a uint32 code, 0 for the empty string and 1 to [Symbols.Symbols]
// for the distinct values, in the order they first appeared. Compare codes
// to filter by equality without touching the strings:
//
//	de, ok := country.Lookup("DE")
//	n := 0
//	if ok {
//		n = country.Count(de)
//	}
//
// Strings it returns share the mapping and are valid until the table is
// closed. Code, String, Value, Count and All may run in other goroutines
// while one appends; Lookup and Symbols read the dictionary's index and
// count, which appends change: call them from the goroutine that appends
// (or between its appends).
type Symbols varcol.SymbolView

func (s *Symbols) v() *varcol.SymbolView { return (*varcol.SymbolView)(s) }

// Name returns the column's name.
func (s *Symbols) Name() string { return s.v().Name() }

// Len returns the number of rows; 0 after the table's Close.
func (s *Symbols) Len() int { return s.v().Len() }

// Code returns row i's code. It panics if i is out of range, like a slice
// index, and after the table is closed.
func (s *Symbols) Code(i int) uint32 { return s.v().Code(i) }

// String returns row i's value. It panics like Code.
func (s *Symbols) String(i int) string { return s.v().String(i) }

// Lookup returns the code of value, and whether any row ever held it ("" is
// always code 0).
func (s *Symbols) Lookup(value string) (uint32, bool) { return s.v().Lookup(value) }

// Value returns the string of a code: "" for 0 and for a code the
// dictionary does not hold.
func (s *Symbols) Value(code uint32) string { return s.v().Value(code) }

// Symbols returns the number of distinct non-empty values in the
// dictionary (some may no longer be in any row).
func (s *Symbols) Symbols() int { return s.v().Symbols() }

// Count returns how many of the rows present now hold code; a long column
// is counted in blocks by up to GOMAXPROCS goroutines, as TotalLen sums.
func (s *Symbols) Count(code uint32) int { return s.v().Count(code) }

// All iterates over the rows present when it starts, yielding each code.
func (s *Symbols) All() iter.Seq2[int, uint32] { return s.v().All() }
