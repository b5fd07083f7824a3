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
	// NextID is the identity the next added column gets; every column's ID
	// is below it, and no ID is ever given twice. 0 in a table made before
	// columns had identities (its columns have none until its first schema
	// change gives them 1, 2, ... in order).
	NextID uint32 `json:"next_id,omitempty"`
	// History lists the schema changes, oldest first: the columns the table
	// was created with, then each column added, dropped, renamed or
	// widened, and each data version migration.
	History []SchemaChange `json:"history,omitempty"`
}

// SchemaChange is one entry of a manifest's history. Entries of one change
// (one open that evolved the schema, say) share Change, numbered from 1.
type SchemaChange struct {
	Change int       `json:"change"`
	Time   time.Time `json:"time"`
	// Op is "create", "add", "drop", "rename", "widen" or "migrate".
	Op string `json:"op"`
	// ID and Name are the column's identity and its name after the change
	// (before it, for "drop"); none for "migrate".
	ID   uint32 `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
	// OldName is a renamed column's name before.
	OldName string `json:"old_name,omitempty"`
	// Layout is the element layout after "create", "add" or "widen";
	// OldLayout the one before "widen".
	Layout    *Layout `json:"layout,omitempty"`
	OldLayout *Layout `json:"old_layout,omitempty"`
	// Kind is the column's [ColumnSpec.Kind] after "create" or "add".
	Kind string `json:"kind,omitempty"`
	// From and To are the data versions of a "migrate".
	From uint32 `json:"from,omitempty"`
	To   uint32 `json:"to,omitempty"`
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
	// ID is the column's identity, which neither a rename nor a widening
	// changes (0 in a table made before identities existed).
	ID     uint32 `json:"id,omitempty"`
	Field  string `json:"field"`  // Go field name in the record type
	Name   string `json:"name"`   // column name (field name or persist tag)
	File   string `json:"file"`   // file name inside the table directory
	Offset int    `json:"offset"` // field offset in the record type
	Layout Layout `json:"layout"`
	// Kind is "" for a column of fixed-size values stored as they are in
	// the record, or [KindString], [KindBytes] or [KindSymbol] for a
	// variable-length one, whose File holds one fixed-size element per row
	// (see [ColumnSpec.AuxFiles]) and whose Layout is that element's.
	Kind string `json:"kind,omitempty"`
}

// Column kinds of variable-length values (FORMAT.md, "String, bytes and
// symbol columns").
const (
	// KindString: a Go string field. The column file holds each row's
	// [start, end) byte offsets (two uint64) into the bytes file.
	KindString = "string"
	// KindBytes: a []byte field, stored as KindString is.
	KindBytes = "bytes"
	// KindSymbol: a table.Symbol field, dictionary-encoded. The column file
	// holds each row's uint32 code: 0 is the empty string, code c > 0 is
	// entry c-1 of the column's dictionary (the .sym and .symbytes files).
	KindSymbol = "symbol"
)

// Suffixes of the files of a variable-length column beside its File.
const (
	BytesSuffix     = ".bytes"    // a string or bytes column's bytes
	DictSuffix      = ".sym"      // a symbol column's dictionary: each entry's end offset (uint64)
	DictBytesSuffix = ".symbytes" // a symbol column's dictionary: the entries' bytes
)

// AuxFiles returns the files a column keeps beside File: none for a
// fixed-size column; the bytes file of a string or bytes column; the
// dictionary's two files of a symbol column.
func (c ColumnSpec) AuxFiles() []string {
	stem := strings.TrimSuffix(c.File, ".col")
	switch c.Kind {
	case KindString, KindBytes:
		return []string{stem + BytesSuffix}
	case KindSymbol:
		return []string{stem + DictSuffix, stem + DictBytesSuffix}
	}
	return nil
}

// Files returns every file of the column: File, then [ColumnSpec.AuxFiles].
func (c ColumnSpec) Files() []string { return append([]string{c.File}, c.AuxFiles()...) }

// Variable reports whether the column holds variable-length values.
func (c ColumnSpec) Variable() bool { return c.Kind != "" }

// KindLayout returns the layout of the element a variable-length column of
// kind stores per row, and false for an unknown kind.
func KindLayout(kind string) (Layout, bool) {
	switch kind {
	case KindString, KindBytes:
		return Layout{Size: 16, Align: 8, Leaves: []Leaf{
			{Path: "start", Kind: "uint64", Offset: 0, Size: 8},
			{Path: "end", Kind: "uint64", Offset: 8, Size: 8}}}, true
	case KindSymbol:
		return Layout{Size: 4, Align: 4, Leaves: []Leaf{{Path: "code", Kind: "uint32", Offset: 0, Size: 4}}}, true
	}
	return Layout{}, false
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
