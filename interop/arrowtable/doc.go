// Package arrowtable gives a table's rows as Arrow record batches
// (apache/arrow-go v18) whose buffers are, wherever Arrow's layout is the
// table's, the table's own mapping: no copy, no allocation per value.
//
//	t, _ := table.Open[table.Any](dir, &table.Options{ReadOnly: true})
//	r, _ := arrowtable.NewReader(t, nil) // an array.RecordReader
//	defer r.Release()
//	for r.Next() {
//		batch := r.RecordBatch() // valid until the next Next
//		...
//	}
//	err := r.Err()
//
// [WriteIPCFile] and [WriteIPCStream] write a table as an Arrow IPC file or
// stream, a batch at a time.
//
// # Types
//
// Each column becomes one Arrow field of the column's name:
//
//	int8 … int64, int       Int8 … Int64        shared with the mapping
//	uint8 … uint64, uint    Uint8 … Uint64      shared
//	float32, float64        Float32, Float64    shared
//	bool                    Boolean             copied (Arrow packs bits)
//	[N]byte                 FixedSizeBinary(N)  shared
//	[N]T                    FixedSizeList(N, T) shared if T is
//	struct                  Struct              fields copied
//	complex64, complex128   Struct{real, imag}  copied
//	string                  String (utf8)       offsets made, bytes shared
//	[]byte                  Binary              offsets made, bytes shared
//	table.Symbol            Dictionary(uint32 → String), codes shared
//
// A struct's fields are interleaved in each row, while Arrow keeps each
// field in a buffer of its own, so they are copied (strided, a batch at a
// time); padding fields (named _) are left out. A string column's offsets
// are made from its spans (int32, so a batch holds at most 2 GiB of one
// column's values and may have fewer rows than asked); its bytes are the
// heap itself while the batch's values lie back to back in it, as rows
// appended in order do, and are copied for a batch with values set by
// SetRow or moved by a removal. A symbol's code is the dictionary index
// (code 0 is "").
//
// # Lifetime
//
// **A batch is valid while the table is open.** Its shared buffers point
// into the table's mappings, which Close unmaps: release or finish with
// every batch (and every Arrow array sliced from one) before closing the
// table. Copied buffers come from [Options.Allocator] and go with the
// batch's Release.
//
// A Reader reads the rows the table had when it was made: for a reader
// beside a writer ([table.Options.ReadOnly]), the count the writer last
// published, taken inside [table.Table.Consistent], so that no batch
// covers a row half appended. Appends after that never change a batch:
// the writer only adds rows past the count. Changes in place do: a
// SetRow, SwapRemove or Delete of a row a batch covers shows in its shared
// buffers as it lands, as in a column view's slice, while its copied
// buffers keep the values of when the batch was made; each batch is made
// inside Consistent, so it is made from one state of the table. A
// Truncate below the reader's count fails the batches past it with
// [ErrShrunk].
//
// # Caveats
//
//   - A Reader and its table are used by one goroutine: the table's
//     methods are not safe for concurrent use. To read a table that a
//     goroutine appends to, open a reader of it (Options.ReadOnly).
//   - Never write to a shared buffer: it is the table's file.
//   - A symbol column's dictionary is the one of when the first batch was
//     made, until a row set in place since holds a code past it; then the
//     batches carry a longer one, which an IPC stream sends again and an
//     IPC file refuses.
package arrowtable
