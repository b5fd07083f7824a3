package persistence

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math/bits"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/klauspost/cpuid/v2"

	"github.com/mmapvec/persistence/internal/fsutil"
	"github.com/mmapvec/persistence/internal/layout"
	"github.com/mmapvec/persistence/internal/names"
)

// ManifestFile is the manifest's name inside a table directory.
const ManifestFile = "manifest.json"

// ManifestFormat and ManifestVersion identify the manifest format.
const (
	ManifestFormat  = "persistence-table"
	ManifestVersion = 1
)

// MaxManifestSize caps the size of a manifest that [ReadManifest] reads: a
// real one is a few kilobytes per column, and the cap keeps a hostile or
// sparse file from being read into memory.
const MaxManifestSize = 16 << 20

// MaxRowSize caps a row's (and so each column element's) size in bytes. It
// keeps every sum and product of layout numbers far from overflow on any
// platform; real rows are orders of magnitude smaller.
const MaxRowSize = 1 << 30

// Errors about manifests. Returned errors wrap these; use errors.Is.
var (
	// ErrManifest: the manifest is missing, unreadable or inconsistent.
	ErrManifest = errors.New("persistence: bad manifest")
	// ErrArch: the table was written on a machine with another byte order,
	// pointer size or type layout.
	ErrArch = errors.New("persistence: table written on an incompatible machine")
	// ErrSchema: the record type differs from the table's schema.
	ErrSchema = errors.New("persistence: record type differs from the table's schema")
)

// Manifest describes a table: its schema and the machine that wrote it. It
// is stored as human-readable JSON.
type Manifest struct {
	Format      string       `json:"format"`
	Version     int          `json:"version"`
	DataVersion uint32       `json:"data_version"`
	RowSize     int          `json:"row_size"`
	Columns     []ColumnSpec `json:"columns"`
	Arch        Arch         `json:"arch"`
	Created     Stamp        `json:"created"`
	// LastWriterCPU is the CPU of the most recent writable open. The
	// manifest is rewritten only when it changes: rewriting it on every
	// open would cost an fsync per open, so no time of the last open is
	// kept (one that was not rewritten would be false).
	LastWriterCPU CPU `json:"last_writer_cpu"`
}

// manifestFile is the manifest as read: [Manifest] plus the fields of
// earlier writers that are still accepted.
type manifestFile struct {
	Manifest
	// OldLastOpen is the last_writable_open stamp that earlier writers
	// kept (its time was only rewritten with the CPU, so it is dropped).
	OldLastOpen *Stamp `json:"last_writable_open,omitempty"`
}

// ColumnSpec is one column of a schema: where its values live in the
// record type and in the table's directory.
type ColumnSpec struct {
	Field  string `json:"field"`  // Go field name in the record type
	Name   string `json:"name"`   // column name (field name or persist tag)
	File   string `json:"file"`   // file name inside the table directory
	Offset int    `json:"offset"` // field offset in the record type
	Layout Layout `json:"layout"`
}

// Layout is the canonical memory layout of a column's element type: size,
// alignment and each scalar leaf with its place. It is what a column
// file's type fingerprint hashes.
type Layout = layout.Layout

// Leaf is one scalar of a [Layout].
type Leaf = layout.Leaf

// Dim is one array level around a [Leaf].
type Dim = layout.Dim

// Arch is what the files' binary layout depends on.
type Arch struct {
	GOARCH      string `json:"goarch"`
	GOOS        string `json:"goos"`
	ByteOrder   string `json:"byte_order"`
	PointerSize int    `json:"pointer_size"`
	PageSize    int    `json:"page_size"`
}

// CPU describes the processor, from cpuid.
type CPU struct {
	Vendor    string   `json:"vendor"`
	Brand     string   `json:"brand"`
	Family    int      `json:"family"`
	Model     int      `json:"model"`
	CacheLine int      `json:"cache_line"`
	Features  []string `json:"features"`
}

// Stamp records when and on which CPU something happened.
type Stamp struct {
	Time time.Time `json:"time"`
	CPU  CPU       `json:"cpu"`
}

// HostArch returns the running machine's [Arch].
func HostArch() Arch {
	order := "little-endian"
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		order = "big-endian"
	}
	// int, uint and uintptr have the same size on every Go platform.
	return Arch{GOARCH: runtime.GOARCH, GOOS: runtime.GOOS, ByteOrder: order,
		PointerSize: bits.UintSize / 8, PageSize: os.Getpagesize()}
}

// HostCPU returns the running machine's [CPU].
func HostCPU() CPU {
	c := cpuid.CPU
	f := c.FeatureSet()
	slices.Sort(f)
	return CPU{Vendor: c.VendorString, Brand: strings.TrimSpace(c.BrandName), Family: c.Family,
		Model: c.Model, CacheLine: c.CacheLine, Features: f}
}

// Hash identifies the parts of a manifest that the data depends on (schema
// and arch, not the stamps); the commit record carries it.
func (m *Manifest) Hash() uint64 {
	b, _ := json.Marshal(struct {
		F string
		V int
		D uint32
		R int
		C []ColumnSpec
		A Arch
	}{m.Format, m.Version, m.DataVersion, m.RowSize, m.Columns, m.Arch})
	h := fnv.New64a()
	h.Write(b)
	return h.Sum64()
}

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
		// Each term is at most RowSize <= MaxRowSize: the sum stops before
		// it could overflow.
		if total += c.Layout.Size; total > m.RowSize {
			return fmt.Errorf("%w: columns hold more than the %d-byte row (at column %q)", ErrManifest, m.RowSize, c.Name)
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

// ReadManifest reads and validates dir/manifest.json. The file must be a
// regular file (not a symlink, FIFO or device) of at most
// [MaxManifestSize] bytes, checked before it is read; otherwise the error
// matches [ErrManifest]. A missing manifest is the OS error
// (errors.Is(err, fs.ErrNotExist)).
func ReadManifest(dir string) (*Manifest, error) {
	path := filepath.Join(dir, ManifestFile)
	b, err := fsutil.ReadRegular(path, 0, MaxManifestSize)
	if errors.Is(err, fsutil.ErrNotRegular) || errors.Is(err, fsutil.ErrSize) {
		return nil, fmt.Errorf("%w: %w", ErrManifest, err)
	}
	if err != nil {
		return nil, err
	}
	return ParseManifest(path, b)
}

// ParseManifest decodes and validates a manifest; path is for messages. It
// accepts the fields of earlier versions of this library (the
// last_writable_open stamp), which [WriteManifest] writes in their current
// form.
func ParseManifest(path string, b []byte) (*Manifest, error) {
	var mf manifestFile
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&mf); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrManifest, path, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: %s: data after the JSON object", ErrManifest, path)
	}
	m := mf.Manifest
	if mf.OldLastOpen != nil && m.LastWriterCPU.isZero() {
		m.LastWriterCPU = mf.OldLastOpen.CPU
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &m, nil
}

// isZero reports whether c was never set (absent from the file).
func (c CPU) isZero() bool {
	return c.Vendor == "" && c.Brand == "" && c.Family == 0 && c.Model == 0 && c.CacheLine == 0 && len(c.Features) == 0
}

// Marshal returns the manifest as its file holds it: indented JSON.
func (m *Manifest) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
