package table

// Symbol is a string stored dictionary-encoded: a field of this type is a
// column of uint32 codes plus an append-only dictionary of the distinct
// values, made durable with the rows. Use it for values that repeat (a
// country, a status, an entity kind): each row costs 4 bytes, a change in
// place is O(1), and an equality filter compares codes ([Symbols]).
//
// Code 0 is the empty string; a column holds at most [Options.MaxSymbols]
// distinct other values (see [ErrSymbolLimit]).
type Symbol string
