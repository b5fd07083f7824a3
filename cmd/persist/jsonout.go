package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/mmapvec/persistence"
	"github.com/mmapvec/persistence/table"
)

// --json: what info and check print, as one JSON object for scripts.

// infoOut is info's JSON: the manifest as the table stores it, and what
// a reader's open saw.
type infoOut struct {
	Table         string                `json:"table"`
	Rows          int                   `json:"rows"`
	CommittedRows int                   `json:"committed_rows"`
	Writer        *writerOut            `json:"writer"` // null when no writer has the table open
	Recovery      string                `json:"recovery"`
	Columns       []columnOut           `json:"columns"`
	Manifest      *persistence.Manifest `json:"manifest"`
}

type writerOut struct {
	PID int `json:"pid"`
}

type columnOut struct {
	ID        uint32 `json:"id"`
	Name      string `json:"name"`
	Field     string `json:"field"`
	Type      string `json:"type"`
	ElemSize  int    `json:"elem_size"`
	FileBytes int64  `json:"file_bytes"`
}

func infoJSON(w io.Writer, dir string) error {
	m, err := readManifest(dir)
	if err != nil {
		return err
	}
	if err := m.CheckArch(); err != nil {
		return err
	}
	t, err := table.Open[table.Any](dir, &table.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer t.Close()
	out := infoOut{Table: dir, Rows: t.Len(), CommittedRows: t.Recovered().CommittedRows,
		Recovery: t.Recovered().String(), Manifest: m}
	if pid, open := t.Writer(); open {
		out.Writer = &writerOut{PID: pid}
	}
	for _, c := range m.Columns {
		out.Columns = append(out.Columns, columnOut{ID: c.ID, Name: c.Name, Field: c.Field, Type: columnType(c),
			ElemSize: c.Layout.Size, FileBytes: filesSize(dir, c)})
	}
	return writeJSON(w, out)
}

// checkOut is check's JSON.
type checkOut struct {
	Table         string       `json:"table"`
	OK            bool         `json:"ok"`
	Columns       int          `json:"columns"`
	Rows          int          `json:"rows"`
	CommittedRows int          `json:"committed_rows"`
	Source        string       `json:"source"`
	Writer        int          `json:"writer,omitempty"`
	Problems      []problemOut `json:"problems"`
	Notes         []string     `json:"notes"`
}

type problemOut struct {
	File string `json:"file"`
	// Kind is "corrupt" for damage, "needs_recovery" for what an
	// interrupted step left (persist repair finishes it), "permission"
	// for a file this user may not read (not damage).
	Kind    string `json:"kind"`
	Message string `json:"message"`
}

// errProblems makes the exit status 1 once the JSON is printed.
type errProblems struct{ n int }

func (e errProblems) Error() string { return fmt.Sprintf("%d problem(s)", e.n) }

func checkJSON(w io.Writer, dir string) error {
	rep, err := table.Check(dir)
	if err != nil {
		return err
	}
	out := checkOut{Table: dir, OK: rep.OK(), Columns: rep.Columns, Rows: rep.Rows, CommittedRows: rep.CommittedRows,
		Source: rep.Source, Writer: rep.Writer, Problems: []problemOut{}, Notes: rep.Notes}
	if out.Notes == nil {
		out.Notes = []string{}
	}
	for _, p := range rep.Problems {
		out.Problems = append(out.Problems, problemOut{File: p.File, Kind: problemKind(p.Err), Message: p.Err.Error()})
	}
	if err := writeJSON(w, out); err != nil {
		return err
	}
	if !rep.OK() {
		return errProblems{len(rep.Problems)}
	}
	return nil
}

// problemKind names a problem of a check for the JSON output.
func problemKind(err error) string {
	switch {
	case errors.Is(err, table.ErrCorrupt):
		return "corrupt"
	case errors.Is(err, table.ErrNeedsRecovery):
		return "needs_recovery"
	case errors.Is(err, fs.ErrPermission):
		return "permission"
	}
	return "corrupt"
}

func writeJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, strings.TrimSpace(string(b))+"\n")
	return err
}
