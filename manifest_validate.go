package persistence

import (
	"fmt"
	"slices"
	"strings"

	"github.com/mmapvec/persistence/internal/names"
)

// Validation of a manifest read from disk: every number in it is checked
// against what it must lie within before a path, an offset or a size is
// built from it.

// Validate checks a manifest read from disk: format, version, and every
// column name and file name, so that no path built from it leaves the
// table directory.
func (m *Manifest) Validate() error {
	if m.Format != ManifestFormat {
		return fmt.Errorf("%w: format %q, want %q", ErrManifest, m.Format, ManifestFormat)
	}
	if m.Version != ManifestVersion {
		return fmt.Errorf("%w: version %d, this library reads %d", ErrManifest, m.Version, ManifestVersion)
	}
	if len(m.Columns) == 0 {
		return fmt.Errorf("%w: no columns", ErrManifest)
	}
	if m.RowSize <= 0 || m.RowSize > MaxRowSize {
		return fmt.Errorf("%w: row size %d outside [1, %d]", ErrManifest, m.RowSize, MaxRowSize)
	}
	seen := map[string]bool{}
	total := 0 // bytes of all columns: distinct fields of one row
	for i, c := range m.Columns {
		if err := names.Validate(c.Name); err != nil {
			return fmt.Errorf("%w: column %d: %v", ErrManifest, i, err)
		}
		if c.File != c.Name+".col" {
			return fmt.Errorf("%w: column %q: file %q, want %q", ErrManifest, c.Name, c.File, c.Name+".col")
		}
		if seen[strings.ToLower(c.Name)] {
			return fmt.Errorf("%w: column %q appears twice", ErrManifest, c.Name)
		}
		seen[strings.ToLower(c.Name)] = true
		// Both are at most MaxRowSize here, so the subtraction cannot wrap.
		if c.Layout.Size <= 0 || c.Layout.Size > m.RowSize || c.Offset < 0 || c.Offset > m.RowSize-c.Layout.Size {
			return fmt.Errorf("%w: column %q: offset %d size %d outside a %d-byte row", ErrManifest, c.Name, c.Offset, c.Layout.Size, m.RowSize)
		}
		if err := validateLayout(c.Layout); err != nil {
			return fmt.Errorf("%w: column %q: layout: %v", ErrManifest, c.Name, err)
		}
		if c.Kind != "" {
			want, ok := KindLayout(c.Kind)
			if !ok {
				return fmt.Errorf("%w: column %q: unknown kind %q (this library knows %q, %q and %q)", ErrManifest, c.Name, c.Kind, KindString, KindBytes, KindSymbol)
			}
			if !want.Equal(c.Layout) {
				return fmt.Errorf("%w: column %q: a %s column's element is %s, not %s", ErrManifest, c.Name, c.Kind, want, c.Layout)
			}
		}
		// Each term is at most RowSize <= MaxRowSize: the sum stops before
		// it could overflow.
		if total += c.Layout.Size; total > m.RowSize {
			return fmt.Errorf("%w: columns hold more than the %d-byte row (at column %q)", ErrManifest, m.RowSize, c.Name)
		}
	}
	if err := m.validateIDs(); err != nil {
		return fmt.Errorf("%w: %v", ErrManifest, err)
	}
	if err := m.validateHistory(); err != nil {
		return fmt.Errorf("%w: history: %v", ErrManifest, err)
	}
	return nil
}

// validateIDs checks the columns' identities: none (a table made before
// they existed), or each distinct, nonzero and below NextID.
func (m *Manifest) validateIDs() error {
	withID := 0
	for _, c := range m.Columns {
		if c.ID != 0 {
			withID++
		}
	}
	switch {
	case withID == 0 && len(m.History) > 0:
		return fmt.Errorf("a history, but columns without ids")
	case withID == 0:
		return nil
	case withID != len(m.Columns):
		return fmt.Errorf("%d of %d columns have an id", withID, len(m.Columns))
	}
	seen := map[uint32]string{}
	for _, c := range m.Columns {
		if c.ID >= m.NextID {
			return fmt.Errorf("column %q: id %d, but the next id to give is %d", c.Name, c.ID, m.NextID)
		}
		if other, dup := seen[c.ID]; dup {
			return fmt.Errorf("columns %q and %q have the same id %d", other, c.Name, c.ID)
		}
		seen[c.ID] = c.Name
	}
	return nil
}

// validateHistory replays the history from the table's creation: each
// change must fit the columns as the changes before it left them (an id
// added once, a dropped or renamed column that exists, names distinct
// after each change), and the replay must end with the manifest's columns,
// their ids, names and layouts. An empty history (a table made before
// histories existed) is not checked.
func (m *Manifest) validateHistory() error {
	if len(m.History) == 0 {
		return nil
	}
	type col struct {
		name   string
		layout *Layout
		kind   string
	}
	live := map[uint32]*col{}
	given := map[uint32]bool{}
	// How many live columns bear each name (ignoring case): kept as the
	// entries apply, so that each change checks only the names it touched.
	names := map[string]int{}
	prev := 0
	for i := 0; i < len(m.History); {
		change := m.History[i].Change
		if change <= prev {
			return fmt.Errorf("entry %d: change %d after change %d", i, change, prev)
		}
		prev = change
		// One change's entries apply together: a swap of two names is two
		// renames, each to a name the other frees.
		j := i
		for j < len(m.History) && m.History[j].Change == change {
			j++
		}
		touched := map[uint32]bool{}
		for k, h := range m.History[i:j] {
			touched[h.ID] = true
			at := fmt.Sprintf("entry %d (change %d, %s)", i+k, change, h.Op)
			if h.Op != "migrate" && h.ID == 0 {
				return fmt.Errorf("%s: no column id", at)
			}
			if h.ID >= m.NextID && h.ID != 0 {
				return fmt.Errorf("%s: id %d, but the next id to give is %d", at, h.ID, m.NextID)
			}
			for _, l := range []*Layout{h.Layout, h.OldLayout} {
				if l != nil {
					if err := validateLayout(*l); err != nil {
						return fmt.Errorf("%s: layout: %v", at, err)
					}
				}
			}
			c := live[h.ID]
			switch h.Op {
			case "create", "add":
				if given[h.ID] {
					return fmt.Errorf("%s: id %d was given before", at, h.ID)
				}
				if h.Layout == nil {
					return fmt.Errorf("%s: no layout", at)
				}
				given[h.ID] = true
				live[h.ID] = &col{name: h.Name, layout: h.Layout, kind: h.Kind}
				names[strings.ToLower(h.Name)]++
			case "drop":
				if c == nil || c.name != h.Name {
					return fmt.Errorf("%s: no column %q with id %d to drop", at, h.Name, h.ID)
				}
				delete(live, h.ID)
				names[strings.ToLower(c.name)]--
			case "rename":
				if c == nil || c.name != h.OldName {
					return fmt.Errorf("%s: no column %q with id %d to rename", at, h.OldName, h.ID)
				}
				names[strings.ToLower(c.name)]--
				c.name = h.Name
				names[strings.ToLower(c.name)]++
			case "widen":
				if c == nil || c.name != h.Name || h.Layout == nil || h.OldLayout == nil || !c.layout.Equal(*h.OldLayout) {
					return fmt.Errorf("%s: no column %q with id %d of the layout it widens", at, h.Name, h.ID)
				}
				c.layout = h.Layout
			case "migrate":
				if h.To == h.From {
					return fmt.Errorf("%s: from data version %d to itself", at, h.From)
				}
			default:
				return fmt.Errorf("%s: unknown operation", at)
			}
		}
		// Names were distinct after the change before: a duplicate now
		// involves a column this change touched.
		for id := range touched {
			if c := live[id]; c != nil && names[strings.ToLower(c.name)] > 1 {
				return fmt.Errorf("change %d leaves two columns named %q", change, c.name)
			}
		}
		i = j
	}
	if len(live) != len(m.Columns) {
		return fmt.Errorf("it leaves %d columns, the manifest has %d", len(live), len(m.Columns))
	}
	for _, c := range m.Columns {
		h := live[c.ID]
		if h == nil || h.name != c.Name || !h.layout.Equal(c.Layout) || h.kind != c.Kind {
			return fmt.Errorf("it does not leave column %q (id %d, %s, kind %q) as the manifest has it", c.Name, c.ID, c.Layout, c.Kind)
		}
	}
	return nil
}

// scalarSizes are the byte sizes of the scalar kinds a layout may hold (int
// and uint are 4 or 8, by the writer's pointer size).
var scalarSizes = map[string][]int{
	"bool": {1}, "int8": {1}, "uint8": {1}, "int16": {2}, "uint16": {2},
	"int32": {4}, "uint32": {4}, "float32": {4}, "int64": {8}, "uint64": {8}, "float64": {8},
	"complex64": {8}, "complex128": {16}, "int": {4, 8}, "uint": {4, 8},
}

// validateLayout checks the numbers of a layout read from a file, before
// anything (a byte swap, a comparison with a column header) relies on them:
// every scalar of every leaf lies inside the element, array repetitions do
// not overlap, and all leaves together hold no more bytes than the element,
// so that walking a layout costs at most its size in steps. All values are
// bounded by MaxRowSize before they are multiplied, so nothing overflows.
func validateLayout(l Layout) error {
	if l.Size <= 0 || l.Size > MaxRowSize {
		return fmt.Errorf("element size %d outside [1, %d]", l.Size, MaxRowSize)
	}
	if l.Align <= 0 || l.Align > 4096 || l.Align&(l.Align-1) != 0 {
		return fmt.Errorf("alignment %d is not a power of two up to 4096", l.Align)
	}
	if len(l.Leaves) == 0 || len(l.Leaves) > l.Size {
		return fmt.Errorf("%d leaves in a %d-byte element", len(l.Leaves), l.Size)
	}
	size := uint64(l.Size)
	var total uint64 // bytes held by all scalars of all leaves
	for i, f := range l.Leaves {
		if !slices.Contains(scalarSizes[f.Kind], f.Size) {
			return fmt.Errorf("leaf %d (%q): kind %q of %d bytes", i, f.Path, f.Kind, f.Size)
		}
		if f.Offset < 0 || uint64(f.Offset) >= size {
			return fmt.Errorf("leaf %d (%q): offset %d outside the %d-byte element", i, f.Path, f.Offset, l.Size)
		}
		// extent is the span of one repetition, innermost array first;
		// count the scalars the leaf holds.
		extent, scalars := uint64(f.Size), uint64(1)
		for j := len(f.Dims) - 1; j >= 0; j-- {
			d := f.Dims[j]
			if d.Count <= 0 || uint64(d.Count) > size || d.Stride <= 0 || uint64(d.Stride) > size {
				return fmt.Errorf("leaf %d (%q): array [%d]*%d in a %d-byte element", i, f.Path, d.Count, d.Stride, l.Size)
			}
			if uint64(d.Stride) < extent {
				return fmt.Errorf("leaf %d (%q): stride %d overlaps the %d-byte item it repeats", i, f.Path, d.Stride, extent)
			}
			// Count and Stride are at most size <= 2^30: no overflow.
			extent += uint64(d.Count-1) * uint64(d.Stride)
			scalars *= uint64(d.Count)
			if extent > size {
				return fmt.Errorf("leaf %d (%q) spans %d bytes, more than the %d-byte element", i, f.Path, extent, l.Size)
			}
		}
		if uint64(f.Offset)+extent > size {
			return fmt.Errorf("leaf %d (%q): offset %d + %d bytes outside the %d-byte element", i, f.Path, f.Offset, extent, l.Size)
		}
		// Disjoint repetitions: scalars*f.Size <= extent <= size.
		if total += scalars * uint64(f.Size); total > size {
			return fmt.Errorf("leaves hold %d bytes or more, more than the %d-byte element", total, l.Size)
		}
	}
	return nil
}
