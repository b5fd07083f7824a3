package table

import (
	"fmt"

	"strconv"
	"strings"

	"github.com/mmapvec/persistence"
)

// Source says where the row count a table opened with came from.
type Source int

const (
	// SourceNew: Open created the table.
	SourceNew Source = iota + 1 // the zero Source is no answer, not "new"
	// SourceLive: the last writer ran in this boot, so every append it
	// completed is kept, synced or not (the OS still held the pages).
	SourceLive
	// SourceCommitted: the last writer ran before the machine restarted, so
	// the table is as of its last Sync.
	SourceCommitted
	// SourcePublished: a reader took the count its writer published, for
	// readers, in this boot (the writer may be running).
	SourcePublished
)

// String returns "new", "live", "committed" or "published".
func (s Source) String() string {
	switch s {
	case SourceNew:
		return "new"
	case SourceLive:
		return "live"
	case SourceCommitted:
		return "committed"
	case SourcePublished:
		return "published"
	}
	return "Source(" + strconv.Itoa(int(s)) + ")"
}

// ColumnCut is a column that recovery shortened, and by how many rows.
type ColumnCut struct {
	Column string
	Rows   int
}

// Recovery says what Open found and did.
type Recovery struct {
	// Created is set when Open created the table.
	Created bool
	// Source is where the row count came from.
	Source Source
	// Rows is the row count the table opened with; CommittedRows is the
	// count in the commit record (the last Sync).
	Rows, CommittedRows int
	// Dropped, when the machine restarted since the last writer, is how many
	// rows past the last Sync the files' own lengths still counted: written,
	// but not synced, so not kept.
	Dropped int
	// Cut lists the columns that were longer than the table, in schema
	// order, with the rows dropped from each: the part of an append that
	// a crash interrupted, or the rows an interrupted SwapRemove or
	// Truncate removes when it is finished.
	Cut []ColumnCut
	// Intent is the interrupted SetRow, SwapRemove or Truncate that was
	// redone ("" if none); IntentDiscarded one that was dropped because it
	// came after the last Sync of an earlier boot.
	Intent, IntentDiscarded string
	// SchemaChanges are the changes this open made to the schema, as the
	// manifest's history records them; SchemaResumed says whether it
	// finished or rolled back one that a crash interrupted ("" if none).
	SchemaChanges []persistence.SchemaChange
	SchemaResumed string
	// Replayed counts the Syncs that recovery after a restart took from
	// the write-ahead log into the column files (logged Syncs whose rows
	// the columns' own flush had not yet made durable).
	Replayed int
	// CommitSlotDamaged is set when one COMMIT slot was torn or damaged and
	// the other was used.
	CommitSlotDamaged bool
	// ValuesReset counts the string, bytes and symbol values that
	// recovery after a restart set to empty: rows changed in place after
	// the last Sync whose new value's bytes may not have reached the disk
	// before the machine stopped (an unsynced change in place may be lost;
	// a value never points at bytes that are not its own).
	ValuesReset int
	// ExtraFiles are files in the directory that are not the table's.
	ExtraFiles []string
	// CPUMissing and CPUAdded are CPU features of the creating machine that
	// this one lacks, and the reverse. Informational only.
	CPUMissing, CPUAdded []string
}

// Changed reports whether recovery changed or dropped anything.
func (r Recovery) Changed() bool {
	return len(r.Cut) > 0 || r.Intent != "" || r.IntentDiscarded != "" || r.CommitSlotDamaged
}

// String says in plain words what Open found and did, for logs and tools:
// "1,020 rows: recovered 20 rows written since the last Sync (same boot, so
// the OS still had them)". It is the same for the same Recovery (parts in
// a fixed order, columns in schema order) and needs no knowledge of the
// file format. CPU differences are left to the caller, who knows whether
// they matter.
func (r Recovery) String() string {
	var parts []string
	shown := r.Rows // the row count the first part states
	switch {
	case r.Created:
		parts = append(parts, "created a new table")
	case r.Source == SourceLive && r.Rows > r.CommittedRows:
		parts = append(parts, fmt.Sprintf("%s: recovered %s written since the last Sync (same boot, so the OS still had them)",
			rowCount(r.Rows), rowCount(r.Rows-r.CommittedRows)))
	case r.Source == SourceLive && r.Rows < r.CommittedRows:
		parts = append(parts, fmt.Sprintf("%s, %s fewer than at the last Sync (removed since, in this boot)",
			rowCount(r.Rows), thousands(r.CommittedRows-r.Rows)))
	case r.Source == SourceLive:
		parts = append(parts, rowCount(r.Rows)+", as at the last Sync")
	case r.Source == SourceCommitted:
		// A redo may change the count after this; it is stated below.
		shown = r.CommittedRows
		parts = append(parts, fmt.Sprintf("opened at the last Sync: %s (written before the machine restarted: only synced rows are kept)",
			rowCount(r.CommittedRows)))
		if r.Dropped > 0 {
			parts = append(parts, fmt.Sprintf("dropped %s written after it and not synced", rowCount(r.Dropped)))
		}
	default:
		parts = append(parts, rowCount(r.Rows))
	}
	cuts := r.cutList()
	switch {
	case r.Intent != "" && cuts != "":
		parts = append(parts, fmt.Sprintf("finished an interrupted %s, which cut %s", r.Intent, cuts))
	case r.Intent != "":
		parts = append(parts, "finished an interrupted "+r.Intent)
	case cuts != "":
		parts = append(parts, fmt.Sprintf("cut %s (an interrupted append)", cuts))
	}
	if shown != r.Rows {
		parts = append(parts, rowCount(r.Rows)+" now")
	}
	if r.IntentDiscarded != "" {
		parts = append(parts, fmt.Sprintf("dropped an interrupted %s: it came after the last Sync, and the machine restarted", r.IntentDiscarded))
	}
	if r.ValuesReset > 0 {
		parts = append(parts, fmt.Sprintf("reset %d string or symbol values changed after the last Sync to empty: their bytes did not reach the disk before the machine restarted", r.ValuesReset))
	}
	if r.CommitSlotDamaged {
		parts = append(parts, "one of the two COMMIT records was damaged (a torn write); used the other")
	}
	if len(r.ExtraFiles) > 0 {
		parts = append(parts, "ignored files that are not the table's: "+strings.Join(r.ExtraFiles, ", "))
	}
	return strings.Join(parts, "; ")
}

// cutList says "3 rows of column b and 1 row of column c".
func (r Recovery) cutList() string {
	var each []string
	for _, c := range r.Cut {
		each = append(each, fmt.Sprintf("%s of column %s", rowCount(c.Rows), c.Column))
	}
	switch len(each) {
	case 0:
		return ""
	case 1:
		return each[0]
	}
	return strings.Join(each[:len(each)-1], ", ") + " and " + each[len(each)-1]
}

// rowCount says "1 row" or "1,000 rows".
func rowCount[N int | uint64](n N) string {
	if n == 1 {
		return "1 row"
	}
	return thousands(n) + " rows"
}

// thousands formats n with commas between groups of three digits.
func thousands[N int | uint64](n N) string {
	s := fmt.Sprint(n)
	digits := strings.TrimPrefix(s, "-")
	var b strings.Builder
	b.WriteString(s[:len(s)-len(digits)])
	for i, d := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(d)
	}
	return b.String()
}
