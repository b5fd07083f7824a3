// Package column holds [Of], the typed view of one column of a table: a
// live []T into the column's file, read and written at memory speed. Views
// come from the table package (table.Column by name, table.Col by field
// selector). [Strings] and [Symbols] are the read views of string, []byte
// and table.Symbol columns (table.Strings, table.Symbols): each value
// straight from the mapping, and a symbol's uint32 code.
//
// # Caveats
//
//   - **Never keep a slice from [Of.Slice], or a pointer into one, or a
//     string or []byte from [Strings] or [Symbols], past the table's Close**
//     (or its Compact): it points into a file mapping that Close removes,
//     and touching it faults. Copy what must outlive the table.
//   - Writes through [Of.Set] or a slice change one column in place; they
//     are not journaled across columns (use the table's SetRow for that) and
//     become durable at the table's next Sync.
//   - After the table's Close, Len is 0 and Slice is nil; Get and Set panic
//     saying that the table is closed.
package column
