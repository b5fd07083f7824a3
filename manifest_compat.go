package persistence

import (
	"fmt"
	"slices"
	"strings"
)

// Whether a table fits the running machine and the caller's record type.

// CheckArch compares the manifest's machine with the running one. A
// difference in byte order, pointer size or OS/arch that changes type
// layout is an [ErrArch] error saying what differs and how to move the data.
func (m *Manifest) CheckArch() error {
	h := HostArch()
	var diffs []string
	if m.Arch.ByteOrder != h.ByteOrder {
		diffs = append(diffs, fmt.Sprintf("byte order: table %s, this machine %s", m.Arch.ByteOrder, h.ByteOrder))
	}
	if m.Arch.PointerSize != h.PointerSize {
		diffs = append(diffs, fmt.Sprintf("pointer size: table %d, this machine %d", m.Arch.PointerSize, h.PointerSize))
	}
	if len(diffs) == 0 {
		return nil
	}
	how := "convert it with `persist convert SRC DST` (table.Convert), which byte-swaps every column by the layouts in " + ManifestFile
	if m.Arch.PointerSize != h.PointerSize {
		how = fmt.Sprintf("open it on a %d-bit machine and copy its rows out", 8*m.Arch.PointerSize)
	}
	return fmt.Errorf("%w (%s/%s): %s; %s",
		ErrArch, m.Arch.GOOS, m.Arch.GOARCH, strings.Join(diffs, "; "), how)
}

// CompareSchema lists every difference between the manifest's columns and
// want (added, removed, retyped, moved); nil if they match.
func (m *Manifest) CompareSchema(want []ColumnSpec) error {
	have := map[string]ColumnSpec{}
	for _, c := range m.Columns {
		have[c.Name] = c
	}
	var diffs []string
	for _, w := range want {
		h, ok := have[w.Name]
		switch {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("added column %q (field %s, %s)", w.Name, w.Field, w.Layout))
		case !h.Layout.Equal(w.Layout):
			diffs = append(diffs, fmt.Sprintf("retyped column %q: table has %s, type has %s", w.Name, h.Layout, w.Layout))
		case h.Field != w.Field:
			diffs = append(diffs, fmt.Sprintf("column %q: table maps it to field %s, type to field %s", w.Name, h.Field, w.Field))
		}
		delete(have, w.Name)
	}
	for _, c := range m.Columns {
		if _, ok := have[c.Name]; ok {
			diffs = append(diffs, fmt.Sprintf("removed column %q (field %s, %s)", c.Name, c.Field, c.Layout))
		}
	}
	if len(diffs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrSchema, strings.Join(diffs, "; "))
}

// CPUDiff lists the CPU features of the machine that created the table
// that the running one lacks, and vice versa (informational only).
func (m *Manifest) CPUDiff() (missing, added []string) {
	host := HostCPU().Features
	for _, f := range m.Created.CPU.Features {
		if !slices.Contains(host, f) {
			missing = append(missing, f)
		}
	}
	for _, f := range host {
		if !slices.Contains(m.Created.CPU.Features, f) {
			added = append(added, f)
		}
	}
	return missing, added
}
