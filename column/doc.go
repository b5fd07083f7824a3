// Package column holds the columns of a table: a [Column] is a named,
// type-erased column file (an [mmap.Raw] moved by element size), and [Of]
// is a typed view of one.
//
// # Caveats
//
//   - **Never keep a slice from [Of.Slice], or a pointer into one, past the
//     table's Close**: it points into a file mapping that Close removes.
//   - Writes through [Of.Set] or a slice change one column in place; they
//     are not journaled across columns (use the table's SetRow for that) and
//     become durable at the table's next Sync.
//   - After the table's Close, Len is 0 and Slice is nil; Get, Set and
//     ElemBytes panic saying that the table is closed.
package column
