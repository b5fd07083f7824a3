// Package table provides [Table], a persistent struct-of-arrays table:
// each field of a row type R is its own memory-mapped column file, and a
// column can be used as a plain []T ([Column], [Col]).
//
// A table directory holds:
//
//	LOCK            flock(2) target of the writer (exclusive)
//	READERS         the page a writer shares with its readers (the
//	                published row count), and their shared flock(2) target
//	manifest.json   schema, architecture and CPU, human-readable
//	COMMIT          two checksummed commit slots, written alternately
//	JOURNAL         the in-place operation in progress, if any
//	SCHEMA          a schema change in progress, if any (and COMMIT.next)
//	<column>.col    one column file per field
//
// # Row types
//
// Each exported field of R is a column named by the field, or by the name
// in its `persist:"name"` tag; `persist:"-"` skips a field, and unexported
// fields are not stored. A named struct field (Pos Vec3) is one column.
// An embedded struct is flattened into its fields' columns, as
// encoding/json promotes them: in
//
//	type Base struct{ ID int64 }
//	type Event struct {
//		Base
//		Value float64
//	}
//
// Event has the columns ID and Value; an embedded struct's own embedded
// structs flatten too, and an unexported embedded struct type's exported
// fields are promoted. Tagged with a name (`persist:"base"`) or with
// `persist:",whole"`, an embedded struct is one column instead. Where
// encoding/json would silently drop fields whose names clash, Open refuses
// R with an [ErrType] naming both fields. A table created before embedded
// structs were flattened stores each as one column, and keeps doing so:
// its manifest decides, so it opens with the same R.
//
// # Strings, bytes and symbols
//
// A string field (or one of a named string type), a []byte field and a
// [Symbol] field are columns too, stored as two or three files: each row's
// element (a string's [start, end) offsets into a heap of bytes, a
// symbol's uint32 code into an append-only dictionary) and the bytes it
// points at. They take Append, AppendRows, Row, ReadRows, All, SetRow,
// SwapRemove, Truncate, Delete and DeleteFunc with the guarantees of
// fixed-size columns: values are written before their rows are published,
// never overwritten while a row may point at them, and committed by the
// same Sync, so a kill -9 keeps every acknowledged value and no value is
// ever torn. Row and the other row reads return copies (an empty []byte
// reads as nil); [Strings] and [Symbols] give views that yield values from
// the mapping without a copy, valid until Close like slices:
//
//	type Event struct {
//		TS      int64
//		URL     string
//		Country table.Symbol
//	}
//	urls, _ := table.Strings(t, "URL")
//	for i, u := range urls.All() { ... }   // no copy, no allocation
//	country, _ := table.Symbols(t, "Country")
//	if de, ok := country.Lookup("DE"); ok {
//		n := country.Count(de)             // compares uint32 codes
//	}
//
// A value longer than [Options.MaxValueSize] (16 MiB by default) fails
// with [ErrValueTooLarge]; a symbol column holds at most
// [Options.MaxSymbols] distinct values (2^24 by default), past which a row
// fails with [ErrSymbolLimit]; either way nothing of the row is written.
// SetRow and the removals leave the old values' bytes behind, unreferenced
// (an O(1) change, and a committed value is never overwritten);
// [Table.Compact] gives them back, with every file's spare capacity.
// Column, Col and Bind refuse such columns: their elements are offsets and
// codes only the table may write. Opening a table checks every row's
// element against its heap or dictionary (one sequential read of the
// element files).
//
// # Schema evolution
//
// Record types change; a table follows them. A writable Open with an R
// that differs from the table's schema changes the table in place, each
// column on its own, and records the change in the manifest's history:
//
//   - A new field is a new column, zero for the existing rows: only its
//     file is written (O(the new column)).
//   - A stored column that R lacks is dropped, with its data, only with
//     [Options.DropColumns]; otherwise Open fails with [ErrSchema] naming
//     it. A read-only Open with fewer fields just reads those columns.
//   - `persist:"new,was=old"` renames a column (its file and manifest
//     entry). A Go field renamed under an unchanged `persist:"name"` tag,
//     or fields in another order, are no change.
//   - A lossless widening of a column's type is applied (int8 → int16 →
//     int32 → int64, the same for unsigned, uintN → a wider intN, float32
//     → float64, integers of up to 32 bits → float64, [N]T → [M]T with M >
//     N, zero padded); a narrowing or other retype is refused with an
//     error that names the field and why.
//
// Each change is crash safe: the new files are built beside the old ones
// and the manifest's replacement switches to them, so a crash leaves the
// old schema with all its rows or the new one with all its rows, and the
// next writable open finishes or rolls back what was interrupted. Changes
// that remove or replace files wait for readers (see below). [DropColumn]
// and [RenameColumn] do the same without the row type, for tools, and
// [Migrate] runs a user's migration once when the table's data version is
// older than the program's.
//
// # Reading rows
//
// A column view is the fastest way to scan one field. For whole rows,
// [Table.All] iterates and [Table.ReadRows] fills a slice; both read column
// by column in blocks (one strided copy per column, no reflection, no
// allocation per row), at a few times the cost of scanning every column's
// slice. [Table.Row] reads one row. [Bind] fills a struct of column views
// (the components an entity-component system works on) with one error
// check.
//
// # Appends
//
// Append writes a row with plain stores into the mapped columns and
// publishes it with a few more: no allocation, no syscall. The first store
// into each new page of a column would take a page fault (the kernel
// allocates the page-cache page), which costs as much as dozens of appends;
// so a writer runs one goroutine that faults in, writable, the pages just
// past its columns' ends before Append reaches them, and sleeps in between.
// It changes no byte (an atomic add of 0 per page), runs only while the
// table is open, and is woken by Append's checked path a few times per
// window, never per row. It costs the same CPU time as the faults it takes
// off the appending goroutine, on another core; pages it touched but no
// row reached yet are zeros that a Sync writes back once, and spare
// capacity afterwards (its window starts at a few pages per column and
// grows as rows arrive, so a writer that syncs every few rows has few
// such pages). [Options.NoPretouch] turns it off; readers never run one.
//
// # Durability
//
//   - A crash of the process (panic, kill -9) keeps every completed Append
//     and AppendRows, even without Sync. An append interrupted part way
//     leaves columns of unequal length; Open cuts them to the shortest and
//     reports it in [Table.Recovered].
//   - SetRow, SwapRemove, Truncate, Delete and DeleteFunc are journaled: a
//     crash part way is finished by the next Open, so no row is ever a mix
//     of two writes, and a stable delete leaves the table before it or the
//     table after it, never a row lost or repeated. Delete and DeleteFunc
//     stage the rows they move past the last row first (the files grow if
//     they lack the room; later appends reuse it) and then copy them down:
//     FORMAT.md tells why a shift in place could not be redone.
//   - An OS crash or power loss keeps what the last successful
//     [Table.Sync] committed: every row appended before it and none after,
//     in every column, and every change in place made before it (through
//     SetRow, SwapRemove, Truncate, Delete, DeleteFunc, or a column slice).
//     A small Sync writes one record to the table's write-ahead log (WAL)
//     and fdatasyncs that one file: one device flush. A large one (and the
//     first of each open, and the one that finds the log full: it holds
//     [Options.LogSize] bytes of records) is a checkpoint: every column is
//     flushed, then the next COMMIT slot is written and flushed. Open after a restart
//     applies the log's records to the columns. FORMAT.md, "WAL", has the
//     layout and the designs weighed.
//   - A change in place made after the last Sync and never synced is, after
//     a power cut, old or new, per column and per page: writes through the
//     shared mapping reach the file whenever the kernel writes a page back,
//     and no log written at Sync can roll them back. A string, bytes or
//     Symbol value it set may instead come back empty: its bytes lie past
//     what the last Sync committed, and recovery resets the row's value
//     ([Recovery].ValuesReset). After a kill -9 (same boot) it is simply
//     there, as every store to the mapping is. Sync after changes in place
//     that must land together.
//   - [Table.AppendSync] is the append for many goroutines that each need
//     their rows durable before going on: the rows appended while one flush
//     runs share the next (group commit), so 16 writers cost about what one
//     does. It may be called concurrently with itself only.
//   - [Table.SyncMeta] commits a small blob (an ECS tick, an ingest offset)
//     atomically with the rows; [Table.Meta] returns it after any crash.
//     [Options.SavePoint] opens a table as of its last Sync, dropping what
//     was appended after it even when only the process died.
//   - Close checkpoints the last Sync if Syncs were logged since the last
//     checkpoint (it commits nothing newer: rows appended after the last
//     Sync stay what they were, kept by a kill -9, lost to a power cut).
//   - Recovery can itself be interrupted and is finished by the next Open.
//     Read-only opens never write: they compute the same view.
//   - A full disk is an error: growth allocates blocks before it maps them
//     (ENOSPC). On a copy-on-write file system (btrfs) a full disk also
//     makes a store into the mapping fault, since a page rewritten after it
//     reached the disk needs a new block: the table's own stores (Open,
//     Append, SetRow and the rest, Sync) turn the fault into [ErrFault] and
//     poison the table, and on such a file system every Append takes its
//     guarded, checked path (BenchmarkAppendGuard). Stores through column
//     slices are guarded inside [Table.Update]; elsewhere they are the
//     caller's: run them with debug.SetPanicOnFault(true) and recover, or
//     keep room on the disk. Free space and reopen: the open recovers as
//     after a crash.
//
// # Readers beside a writer
//
// One writer and any number of readers, in any processes (the writer's
// own included), have a table open at once: Open with [Options.ReadOnly]
// succeeds while a writer appends, and a writer opens while readers read.
// No reader ever makes the writer wait: appends and Syncs never look at
// readers, and a reader writes nothing, not even a lock byte the writer
// reads. A reader maps the column files read-only; its row count comes
// from the READERS page, where every append publishes the new count after
// every column holds the rows (an atomic store), so a reader never sees a
// row half appended.
//
//   - What a reader sees: the rows of every completed append, or, with
//     [Options.SyncedOnly], the rows as of the writer's last Sync. It
//     stays at the count it opened with until [Table.Refresh] moves it to
//     the latest; column views taken before follow, and slices taken
//     before stay valid until its Close. A Refresh costs a few atomic
//     loads, and a new mapping of each file that grew.
//   - Changes in place: SetRow, SwapRemove, Truncate, Delete, DeleteFunc
//     and the writer's recovery are seen by a reader as they land, column
//     by column and element by element, like writes through slices. Each
//     of them makes the page's sequence count odd while it runs;
//     [Table.Consistent] runs a read again until no change overlapped it,
//     and [Table.RowConsistent] reads one row that way. Writes through
//     column slices are not counted unless made inside the writer's
//     [Table.Update], which makes them one change for Consistent readers.
//     A Truncate, SwapRemove or Delete lowers the count: a reader's
//     Refresh shows it, and rows past it stay readable (stale) until then.
//   - No reader ever faults: the writer never shrinks a file, and a count
//     a reader is given is checked against its files. Operations that cut
//     or remove files ([Repair], and compaction and schema changes) wait
//     for readers to close (up to [Options.LockTimeout]) or fail with a
//     [*ReadersError] naming their pids.
//   - Crashes: a reader killed with SIGKILL leaves nothing behind (its
//     flock goes with it). A writer killed with SIGKILL leaves readers on
//     what it published; the next writer recovers while they read, and
//     its recovery counts as a change in place. If the writer died part
//     way through a change in place, Refresh and Consistent fail with
//     ErrNeedsRecovery until a writer opens; a change that outlasts the
//     lock timeout (at least a second) is [ErrBusy].
//   - A reader that opens while no writer of this boot has the table open
//     decides its count from the files, as any read-only open does, and
//     follows a writer that opens later from its first Refresh.
//
// [Table.Snapshot] copies a live table, from the writer or a reader, into
// a new directory that opens as an ordinary table: a backup, or a save
// game, in one call.
//
// # Tables without a Go row type
//
// An importer learns its schema from a file at run time. [Create] makes a
// table for a struct type built with reflect.StructOf (columns named by
// `persist:"name"` tags), with the manifest Open[R] would make for an R of
// that shape; an [Appender] appends rows given column by column (each
// fixed-size column's elements as bytes, each string, []byte or Symbol
// column's values), through AppendRows's publish path: every column holds
// a batch before its rows are counted, so a crash keeps a batch whole or
// not at all, and a refused batch (a column of the wrong length, a bool
// byte other than 0 or 1, a value over the limits) changes no row. The
// table then opens with Open[R] as any other.
//
// # Errors, closed tables and indexes
//
// One rule for every method:
//
//   - A method with an error result returns a typed error that errors.Is
//     matches against a sentinel of this package: after [Table.Close],
//     [ErrClosed]; a row index or count outside the table, [ErrRange]
//     wrapped with the index and the length ([Table.SetRow],
//     [Table.SwapRemove], [Table.Truncate], [Table.Delete],
//     [Table.ReadRows]). The table is unchanged.
//   - A method without an error result does what a slice does: [Table.Row]
//     panics for an index out of range, and after Close panics saying the
//     table is closed. Len is 0 after Close; Dir, Manifest and Recovered
//     still answer. Column views follow the same rule (Get and Set panic,
//     saying closed after Close; Len is 0).
//
// # Caveats
//
//   - **Never keep a slice from a column view past [Table.Close].**
//   - A Table's methods are not safe for concurrent use; column views may
//     be read by other goroutines while one goroutine appends. Separate
//     Tables (a writer and its readers) are independent.
//   - Writes through column views (Set, or a slice) are in place and not
//     journaled across columns; they become durable at the next Sync. Once
//     a writable view of a column was handed out (Column, Col, Bind), every
//     Sync also flushes that column's file, since a slice may have written
//     anywhere in it: views cost a flush per viewed column per Sync.
//   - Across an OS crash, a row changed in place since the last Sync may be
//     found old or new per column: Sync after SetRow if that matters.
//   - Tables are tied to the byte order and word size of the machine that
//     created them; opening elsewhere fails with [ErrArch], which says what
//     differs.
//   - Unexported fields and fields tagged `persist:"-"` are not stored,
//     in a flattened embedded struct too: tag it `persist:",whole"` to
//     store all its bytes as one column.
package table
