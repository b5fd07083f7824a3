package varcol

import (
	"math"
	"unsafe"

	"github.com/mmapvec/persistence/internal/colfile"
	"github.com/mmapvec/persistence/internal/errs"
)

// MaxCodes is the most distinct values a dictionary can ever hold: codes
// are uint32 and code 0 is the empty string.
const MaxCodes = math.MaxUint32

// Dict is a symbol column's dictionary: the distinct non-empty values, in
// the order they were first appended, entry c holding code c+1 (code 0 is
// the empty string and has no entry). It is two files: each entry's end
// offset (uint64; an entry starts where the one before it ends) and the
// entries' bytes. Entries are only ever appended, each published (bytes,
// then its offset, then the count) before any row holds its code.
type Dict struct {
	offs *colfile.File // Len is the number of entries
	heap *Heap         // Len is the end of the last entry

	// index maps each value to its code, built when first needed: a
	// writer's open builds it, a reader's first lookup does. Keys share the
	// heap's mapping (valid until Close, when the index is dropped).
	index   map[string]uint32
	indexed int // entries in index

	last     string // the value Lookup found last (sharing the mapping), and its code
	lastCode uint32
}

// NewDict returns the dictionary of the two open files.
func NewDict(offs, bytes *colfile.File) *Dict { return &Dict{offs: offs, heap: NewHeap(bytes)} }

// Files returns the offsets file and the bytes file.
func (d *Dict) Files() (offs, bytes *colfile.File) { return d.offs, d.heap.f }

// Len returns the number of entries: codes 0 to Len are valid.
func (d *Dict) Len() int { return d.offs.Len() }

// ends returns the first n entries' end offsets.
func (d *Dict) ends(n int) []uint64 {
	if n == 0 || d.offs.Data() == nil {
		return nil
	}
	return unsafe.Slice((*uint64)(d.offs.Data()), n)
}

// span returns entry c's span, with no check.
func (d *Dict) span(ends []uint64, c int) Span {
	s := Span{End: ends[c]}
	if c > 0 {
		s.Start = ends[c-1]
	}
	return s
}

// String returns the value of code: "" for 0, for a code past the entries
// (a damaged row, or one that a writer in another process changed past
// what this reader has taken in) and after Close. The string shares the
// mapping: valid until Close.
//
// It may run in another goroutine than the writer's appends: it is bounded
// by what the offsets file's mapping covers, not by the count the writer
// changes (a row's code is published after its entry), and the bytes by
// the heap's mapping.
func (d *Dict) String(code uint32) string {
	p, size := d.offs.Mapped()
	if code == 0 || uint64(code) > uint64(size/8) {
		return ""
	}
	ends := unsafe.Slice((*uint64)(p), code)
	return d.heap.String(d.span(ends, int(code-1)))
}

// Lookup returns the code of s, if the dictionary holds it ("" is code 0).
func (d *Dict) Lookup(s string) (uint32, bool) {
	if s == "" {
		return 0, true
	}
	if d.offs.Data() == nil {
		// Closed: the index's keys lie in a mapping that is gone.
		d.index, d.indexed, d.last, d.lastCode = nil, 0, "", 0
		return 0, false
	}
	if s == d.last && d.lastCode != 0 {
		return d.lastCode, true // runs of one value are common in ingest
	}
	if d.indexed != d.offs.Len() || d.index == nil {
		d.catchUp()
	}
	c, ok := d.index[s]
	if ok {
		d.last, d.lastCode = s, c
	}
	return c, ok
}

// catchUp indexes the entries added since the index was last built.
func (d *Dict) catchUp() {
	n := d.offs.Len()
	if d.index == nil {
		d.index = make(map[string]uint32, n)
	}
	ends := d.ends(n)
	for c := d.indexed; c < n; c++ {
		v := d.heap.String(d.span(ends, c))
		if _, dup := d.index[v]; !dup {
			d.index[v] = uint32(c + 1)
		}
	}
	d.indexed = n
}

// Room returns how many more values the dictionary takes, at most limit
// in all (as Add applies it).
func (d *Dict) Room(limit int) int { return max(0, min(limit, MaxCodes)-d.offs.Len()) }

// Add appends s, which [Dict.Lookup] did not find and is not empty, and
// returns its code. A dictionary that holds max entries refuses it with
// errs.ErrSymbolLimit, and nothing is written.
func (d *Dict) Add(s string, max int) (uint32, error) {
	n := d.offs.Len()
	if n >= min(max, MaxCodes) {
		return 0, errs.File(d.offs.Path(), errs.ErrSymbolLimit, "the dictionary holds %d values, the limit", n)
	}
	at := d.heap.Len()
	if err := d.heap.Reserve(len(s)); err != nil {
		return 0, err
	}
	if err := d.offs.EnsureCap(n + 1); err != nil {
		return 0, err
	}
	sp := d.heap.Put(at, unsafe.Slice(unsafe.StringData(s), len(s)))
	d.heap.Publish(int(sp.End))
	unsafe.Slice((*uint64)(d.offs.Data()), n+1)[n] = sp.End
	d.offs.Publish(n + 1) // the entry exists from here on
	if d.index != nil && d.indexed == n {
		d.index[d.heap.String(sp)] = uint32(n + 1)
		d.indexed = n + 1
	}
	return uint32(n + 1), nil
}

// Validate checks the first n entries read from disk: offsets that never
// decrease, the last within the bytes file. It returns the end of the
// last entry (the bytes frontier).
func (d *Dict) Validate(n int) (int, error) {
	if err := CheckLen(d.offs, n, "dictionary count"); err != nil {
		return 0, err
	}
	return d.validateFrom(0, n)
}

func (d *Dict) validateFrom(from, n int) (int, error) {
	ends := d.ends(n)
	var prev uint64
	if from > 0 {
		prev = ends[from-1]
	}
	for c := from; c < n; c++ {
		if ends[c] < prev {
			return 0, errs.File(d.offs.Path(), errs.ErrCorrupt, "entry %d: the end offsets decrease (%d after %d)", c, ends[c], prev)
		}
		prev = ends[c]
	}
	if prev > uint64(d.heap.f.Cap()) {
		return 0, errs.File(d.offs.Path(), errs.ErrCorrupt, "the entries end at byte %d, past the %d bytes of %s", prev, d.heap.f.Cap(), d.heap.f.Path())
	}
	return int(prev), nil
}

// Follow takes in the entries a writer in another process added: the
// count it published, its files' growth, each new entry checked.
func (d *Dict) Follow() error {
	n, ok := d.offs.LiveLen()
	if !ok {
		return errs.File(d.offs.Path(), errs.ErrCorrupt, "the live count word fails its check bits")
	}
	old := d.offs.Len()
	if n <= old {
		return nil
	}
	for _, f := range []*colfile.File{d.offs, d.heap.f} {
		if _, err := f.Follow(); err != nil {
			return err
		}
	}
	if err := CheckLen(d.offs, n, "dictionary count"); err != nil {
		return err
	}
	end, err := d.validateFrom(old, n)
	if err != nil {
		return err
	}
	if err := d.heap.f.SetLen(end); err != nil {
		return err
	}
	return d.offs.SetLen(n)
}

// CheckCodes checks the codes of rows [from, len(codes)) against a
// dictionary of n entries; it returns the first bad row, or -1.
func CheckCodes(codes []uint32, from, n int) int {
	for i := from; i < len(codes); i++ {
		if uint64(codes[i]) > uint64(n) {
			return i
		}
	}
	return -1
}

// CodeError describes a code that CheckCodes refused.
func CodeError(path string, row int, code uint32, n int) error {
	return errs.File(path, errs.ErrCorrupt, "row %d: symbol code %d, but the dictionary holds %d values", row, code, n)
}
