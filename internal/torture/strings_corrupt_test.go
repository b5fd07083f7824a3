// Damaged string, bytes and symbol columns: spans and codes that point
// outside their heaps and dictionaries, dictionaries whose offsets go
// backwards or past their bytes, live words and COMMIT extents that claim
// more than the files hold, aux files of the wrong kind or size, and
// manifests whose kinds lie. Each open fails with a typed error, or (after
// a restart, where recovery resets a value it cannot trust) opens with the
// rows intact but for the values it reset and counted; a reader's Refresh
// over such damage fails the same way and keeps its rows.

package torture_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/mmapvec/persistence"
	"github.com/mmapvec/persistence/internal/bootid"
	"github.com/mmapvec/persistence/mmap"
	"github.com/mmapvec/persistence/table"
)

// crow has one column of each variable-length kind between fixed ones.
type crow struct {
	ID      int64
	URL     string
	Body    []byte
	Country table.Symbol
	Dur     float32
}

const (
	crowRows    = 40
	crowDamaged = 9 // the row whose elements the cases damage: every value non-empty
	// Element and file places (FORMAT.md): elements start after the
	// 4096-byte header; the live length word is at 128.
	colData  = 4096
	liveAt   = 128
	bootAt   = 48
	spanSize = 16
)

var strCountries = []table.Symbol{"DE", "FR", "", "US", "JP"}

func mkCRow(i int) crow {
	r := crow{ID: int64(i), URL: fmt.Sprintf("https://example.com/%d/%s", i, strings.Repeat("x", i%7)),
		Country: strCountries[i%len(strCountries)], Dur: float32(i) / 4}
	if i%4 != 0 {
		r.Body = []byte(fmt.Sprint("body ", i))
	}
	return r
}

// stringsTable makes a closed, synced table of crowRows rows.
func stringsTable(t *testing.T) (dir string) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "table")
	tb, err := table.Open[crow](dir, &table.Options{LogSize: table.MinLogSize}) // a small log: every case copies the table
	if err != nil {
		t.Fatal(err)
	}
	for i := range crowRows {
		if err := tb.Append(mkCRow(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := errors.Join(tb.Sync(), tb.Close()); err != nil {
		t.Fatal(err)
	}
	return dir
}

// copyStrings copies a table made by stringsTable (opens, not creations,
// are what the cases test) and makes a directory outside it for what
// damaged tables point at.
func copyStrings(t *testing.T, from string) (dir, outside string) {
	t.Helper()
	root := t.TempDir()
	dir, outside = filepath.Join(root, "table"), filepath.Join(root, "outside")
	mkdir(t, dir)
	mkdir(t, outside)
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		copyFile(t, filepath.Join(from, e.Name()), filepath.Join(dir, e.Name()))
	}
	return dir, outside
}

// tableFiles is what dataFiles read of a table directory: each file's
// type and, for a regular file, its contents.
type tableFiles map[string][]byte

// dataFiles reads the table's files, but LOCK and READERS, which each
// writable open writes by design (its pid, its page). Unless headerWords,
// a column file's boot id and live length word are left out: a writable
// open that fails may have written them (see
// TestTableStringsFailedOpenWritesNothing).
func dataFiles(t *testing.T, dir string, headerWords bool) tableFiles {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := tableFiles{}
	for _, e := range entries {
		if e.Name() == "LOCK" || e.Name() == "READERS" {
			continue
		}
		c := []byte(e.Type().String())
		if e.Type().IsRegular() {
			c = readFile(t, filepath.Join(dir, e.Name()))
			if !headerWords && len(c) >= colData && string(c[:8]) == "PERSISTV" {
				clear(c[bootAt : bootAt+16])
				clear(c[liveAt : liveAt+8])
			}
		}
		files[e.Name()] = c
	}
	return files
}

// diff names the files, and the first byte of each, where b differs from
// a; "" if none.
func (a tableFiles) diff(b tableFiles) string {
	var out []string
	for name, x := range a {
		y, ok := b[name]
		switch {
		case !ok:
			out = append(out, name+" removed")
		case !bytes.Equal(x, y):
			i := 0
			for i < min(len(x), len(y)) && x[i] == y[i] {
				i++
			}
			out = append(out, fmt.Sprintf("%s at byte %d", name, i))
		}
	}
	for name := range b {
		if _, ok := a[name]; !ok {
			out = append(out, name+" added")
		}
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}

// File edits of the cases, as FORMAT.md lays the files out.

func putSpan(t *testing.T, dir, col string, row int, start, end uint64) {
	t.Helper()
	patchFile(t, filepath.Join(dir, col+".col"), func(b []byte) []byte {
		ne.PutUint64(b[colData+spanSize*row:], start)
		ne.PutUint64(b[colData+spanSize*row+8:], end)
		return b
	})
}

func span(t *testing.T, dir, col string, row int) (start, end uint64) {
	t.Helper()
	b := readFile(t, filepath.Join(dir, col+".col"))
	return ne.Uint64(b[colData+spanSize*row:]), ne.Uint64(b[colData+spanSize*row+8:])
}

func putCode(t *testing.T, dir string, row int, code uint32) {
	t.Helper()
	patchFile(t, filepath.Join(dir, "Country.col"), func(b []byte) []byte {
		ne.PutUint32(b[colData+4*row:], code)
		return b
	})
}

// liveLen returns the length a file's live word holds.
func liveLen(t *testing.T, path string) uint64 {
	t.Helper()
	return ne.Uint64(readFile(t, path)[liveAt:]) & (1<<48 - 1)
}

// putLive stores a live length word (check bits valid) or, with flip, the
// file's own word with one byte of its check bits flipped.
func putLive(t *testing.T, path string, n uint64, flip bool) {
	t.Helper()
	patchFile(t, path, func(b []byte) []byte {
		if flip {
			b[liveAt+7] ^= 0x5a
		} else {
			ne.PutUint64(b[liveAt:], liveWord(n))
		}
		return b
	})
}

func putEnd(t *testing.T, dir string, entry int, end uint64) {
	t.Helper()
	patchFile(t, filepath.Join(dir, "Country.sym"), func(b []byte) []byte {
		ne.PutUint64(b[colData+8*entry:], end)
		return b
	})
}

// Variable-length columns in manifest order, and their extents' places in
// a COMMIT slot (after the five row counts).
var strVarCols = []string{"URL", "Body", "Country"}

// extents returns the extents a writer would commit: each heap's
// frontier, the dictionary's entry count.
func extents(t *testing.T, dir string) []uint64 {
	return []uint64{liveLen(t, filepath.Join(dir, "URL.bytes")), liveLen(t, filepath.Join(dir, "Body.bytes")),
		liveLen(t, filepath.Join(dir, "Country.sym"))}
}

// writeExtents writes both COMMIT slots, with valid checksums, for the
// table's rows and the given extents (nil: none, as a COMMIT of a table
// without variable-length columns).
func writeExtents(t *testing.T, dir string, x []uint64) {
	t.Helper()
	m, err := persistence.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	l := append([]uint64{crowRows, crowRows, crowRows, crowRows, crowRows}, x...)
	seq := commitSeq(t, dir)
	writeTo(t, dir, "COMMIT", string(append(encodeCommit(0, seq+2, crowRows, m.Hash(), l), encodeCommit(1, seq+1, crowRows, m.Hash(), l)...)))
}

func setExtent(col string, x uint64) func(t *testing.T, d, _ string) {
	return func(t *testing.T, d, _ string) {
		e := extents(t, d)
		e[slices.Index(strVarCols, col)] = x
		writeExtents(t, d, e)
	}
}

// manifestColumn returns the manifest entry of column name.
func manifestColumn(m map[string]any, name string) map[string]any {
	for _, c := range m["columns"].([]any) {
		if c := c.(map[string]any); c["name"] == name {
			return c
		}
	}
	panic("no column " + name)
}

// strWant is what an open of a damaged table must give. The zero value:
// it opens, with every row intact.
type strWant struct {
	want []error // it fails with an error matching one of these
	says string  // text the error must hold
	// reset: a writer opens and resets the damaged values to empty
	// (Recovery.ValuesReset counts them), and a reader, which never
	// writes, fails with ErrNeedsRecovery.
	reset bool
}

type strCase struct {
	name   string
	damage func(t *testing.T, dir, outside string)
	// live is the strWant in the boot that wrote the files (the live
	// words are trusted), restart the one after a restart (COMMIT's
	// extents are).
	live, restart strWant
}

func fails(says string, want ...error) strWant { return strWant{want: want, says: says} }

// TestTableStringsCorruption damages a closed table with string, bytes and
// symbol columns in one way per case and opens it read-only and writable,
// as its own type and as table.Any, in the boot that wrote it and after a
// restart: each open fails with a typed error naming the problem and
// writes nothing, or opens with every row intact but for the values a
// restart's recovery reset and counted. Nothing may panic, fault or
// allocate what a number in a file claims.
func TestTableStringsCorruption(t *testing.T) {
	track(t)
	corrupt := []error{table.ErrCorrupt}
	reset := strWant{reset: true}
	same := func(o strWant) (strWant, strWant) { return o, o }
	const maxU = ^uint64(0)
	// Damaged elements: after a restart they are rows changed in place
	// whose bytes may never have reached the disk, and are reset.
	cases := []strCase{
		{name: "span start past its end", damage: func(t *testing.T, d, _ string) {
			_, end := span(t, d, "URL", crowDamaged)
			putSpan(t, d, "URL", crowDamaged, end+1, end)
		}, live: fails("offsets decrease", corrupt...), restart: reset},
		{name: "span of 2^64-1 to 0", damage: func(t *testing.T, d, _ string) {
			putSpan(t, d, "URL", crowDamaged, maxU, 0)
		}, live: fails("offsets decrease", corrupt...), restart: reset},
		{name: "span end just past the heap frontier", damage: func(t *testing.T, d, _ string) {
			x := liveLen(t, filepath.Join(d, "URL.bytes"))
			putSpan(t, d, "URL", crowDamaged, x-3, x+1)
		}, live: fails("past the", corrupt...), restart: reset},
		{name: "span end past the heap file", damage: func(t *testing.T, d, _ string) {
			putSpan(t, d, "URL", crowDamaged, 0, 1<<40)
		}, live: fails("past the", corrupt...), restart: reset},
		{name: "span of 2^64-1 bytes", damage: func(t *testing.T, d, _ string) {
			putSpan(t, d, "URL", crowDamaged, 0, maxU)
		}, live: fails("past the", corrupt...), restart: reset},
		{name: "bytes span past the heap file", damage: func(t *testing.T, d, _ string) {
			start, _ := span(t, d, "Body", crowDamaged)
			putSpan(t, d, "Body", crowDamaged, start, 1<<62)
		}, live: fails("Body.col", corrupt...), restart: reset},
		{name: "code past the dictionary count", damage: func(t *testing.T, d, _ string) {
			putCode(t, d, crowDamaged, uint32(liveLen(t, filepath.Join(d, "Country.sym")))+1)
		}, live: fails("symbol code 5", corrupt...), restart: reset},
		{name: "code 2^32-1", damage: func(t *testing.T, d, _ string) { putCode(t, d, crowDamaged, ^uint32(0)) },
			live: fails("4294967295", corrupt...), restart: reset},
		{name: "garbage spans past the rows", damage: func(t *testing.T, d, _ string) {
			putSpan(t, d, "URL", crowRows+3, maxU, 1)
			putCode(t, d, crowRows+3, ^uint32(0))
		}},
	}
	// Dictionaries are checked entry by entry, whichever count is trusted.
	cases = append(cases, []strCase{
		{name: "dictionary end offsets decrease", damage: func(t *testing.T, d, _ string) { putEnd(t, d, 1, 1) }},
		{name: "dictionary entry ending at 2^64-1 before a smaller one", damage: func(t *testing.T, d, _ string) { putEnd(t, d, 0, maxU) }},
		{name: "dictionary's last entry ends just past .symbytes", damage: func(t *testing.T, d, _ string) {
			putEnd(t, d, int(liveLen(t, filepath.Join(d, "Country.sym")))-1, 4097)
		}},
		{name: "dictionary's last entry ends at 2^64-1", damage: func(t *testing.T, d, _ string) {
			putEnd(t, d, int(liveLen(t, filepath.Join(d, "Country.sym")))-1, maxU)
		}},
	}...)
	for i := len(cases) - 4; i < len(cases); i++ {
		says := "decrease"
		if strings.Contains(cases[i].name, "last entry") {
			says = "past the"
		}
		cases[i].live, cases[i].restart = same(fails(says, corrupt...))
	}
	// Live length words: trusted only in the boot that wrote them.
	cases = append(cases, []strCase{
		{name: "heap live word fails its check bits", damage: func(t *testing.T, d, _ string) {
			putLive(t, filepath.Join(d, "URL.bytes"), 0, true)
		}, live: fails("check bits", corrupt...)},
		{name: "heap live word past the file", damage: func(t *testing.T, d, _ string) {
			putLive(t, filepath.Join(d, "URL.bytes"), 1<<40, false)
		}, live: fails("1099511627776", corrupt...)},
		{name: "heap live word at the largest length", damage: func(t *testing.T, d, _ string) {
			putLive(t, filepath.Join(d, "Body.bytes"), 1<<48-1, false)
		}, live: fails("281474976710655", corrupt...)},
		{name: "heap live word below the rows' values", damage: func(t *testing.T, d, _ string) {
			putLive(t, filepath.Join(d, "URL.bytes"), 10, false)
		}, live: fails("past the", corrupt...)},
		{name: "dictionary live count fails its check bits", damage: func(t *testing.T, d, _ string) {
			putLive(t, filepath.Join(d, "Country.sym"), 0, true)
		}, live: fails("check bits", corrupt...)},
		{name: "dictionary live count past the file", damage: func(t *testing.T, d, _ string) {
			putLive(t, filepath.Join(d, "Country.sym"), 1<<40, false)
		}, live: fails("1099511627776", corrupt...)},
		{name: "dictionary live count past its entries", damage: func(t *testing.T, d, _ string) {
			p := filepath.Join(d, "Country.sym")
			putLive(t, p, liveLen(t, p)+2, false)
		}, live: fails("decrease", corrupt...)},
		{name: "dictionary live count below the rows' codes", damage: func(t *testing.T, d, _ string) {
			putLive(t, filepath.Join(d, "Country.sym"), 1, false)
		}, live: fails("symbol code", corrupt...)},
	}...)
	// COMMIT's extents, in valid slots: trusted only after a restart.
	cases = append(cases, []strCase{
		{name: "COMMIT extent 2^63", damage: setExtent("URL", 1<<63), restart: fails("committed extent", corrupt...)},
		{name: "COMMIT extent 2^64-1", damage: setExtent("Body", maxU), restart: fails("committed extent", corrupt...)},
		{name: "COMMIT extent just past the heap file", damage: setExtent("URL", 4097), restart: fails("committed extent", corrupt...)},
		{name: "COMMIT dictionary count 2^63", damage: setExtent("Country", 1<<63), restart: fails("committed extent", corrupt...)},
		{name: "COMMIT dictionary count past its entries", damage: func(t *testing.T, d, o string) {
			setExtent("Country", liveLen(t, filepath.Join(d, "Country.sym"))+2)(t, d, o)
		}, restart: fails("decrease", corrupt...)},
		// Below what the synced rows use: they are reset, as values written
		// after that commit would be.
		{name: "COMMIT extent 0", damage: setExtent("URL", 0), restart: reset},
		{name: "COMMIT dictionary count 0", damage: setExtent("Country", 0), restart: reset},
		{name: "COMMIT without the extents", damage: func(t *testing.T, d, _ string) { writeExtents(t, d, nil) },
			live: fails("COMMIT", corrupt...), restart: fails("COMMIT", corrupt...)},
	}...)
	// Aux files of the wrong kind or size: whichever boot.
	replace := func(name string, make func(t *testing.T, path, outside string)) func(t *testing.T, d, o string) {
		return func(t *testing.T, d, o string) {
			rm(t, d, name)
			make(t, filepath.Join(d, name), o)
		}
	}
	header := func(name string, edit func(b []byte)) func(t *testing.T, d, _ string) {
		return func(t *testing.T, d, _ string) {
			patchFile(t, filepath.Join(d, name), func(b []byte) []byte { edit(b); fixHeaderCRC(b); return b })
		}
	}
	fileCases := []strCase{}
	for _, name := range []string{"URL.bytes", "Body.bytes", "Country.sym", "Country.symbytes"} {
		fileCases = append(fileCases, []strCase{
			{name: name + " missing", damage: func(t *testing.T, d, _ string) { rm(t, d, name) }, live: fails("missing", corrupt...)},
			{name: name + " a symlink to a copy outside", damage: func(t *testing.T, d, o string) {
				copyFile(t, filepath.Join(d, name), filepath.Join(o, name))
				rm(t, d, name)
				if err := os.Symlink(filepath.Join(o, name), filepath.Join(d, name)); err != nil {
					t.Fatal(err)
				}
			}, live: fails("not a regular file", corrupt...)},
			{name: name + " a FIFO", damage: replace(name, func(t *testing.T, p, _ string) { mkFIFO(t, p) }), live: fails("not a regular file", corrupt...)},
			{name: name + " a directory", damage: replace(name, func(t *testing.T, p, _ string) { mkdir(t, p) }), live: fails("not a regular file", corrupt...)},
			{name: name + " a symlink to /dev/zero", damage: replace(name, func(t *testing.T, p, _ string) { linkDevZero(t, p) }), live: fails(name, corrupt...)},
			{name: name + " cut inside its header", damage: func(t *testing.T, d, _ string) {
				if err := os.Truncate(filepath.Join(d, name), 100); err != nil {
					t.Fatal(err)
				}
			}, live: fails(name, corrupt...)},
			{name: name + " emptied", damage: func(t *testing.T, d, _ string) {
				if err := os.Truncate(filepath.Join(d, name), 0); err != nil {
					t.Fatal(err)
				}
			}, live: fails(name, corrupt...)},
			{name: name + " with a bad header CRC", damage: func(t *testing.T, d, _ string) {
				patchFile(t, filepath.Join(d, name), func(b []byte) []byte { b[30] ^= 1; return b })
			}, live: fails(name, mmap.ErrChecksum)},
			// Another element size: the file of another kind of column.
			{name: name + " with another element size", damage: header(name, func(b []byte) {
				ne.PutUint32(b[28:], 9-ne.Uint32(b[28:])) // 1 <-> 8
				ne.PutUint32(b[32:], 9-ne.Uint32(b[32:]))
			}), live: fails(name, table.ErrElemType)},
			{name: name + " with another tag", damage: header(name, func(b []byte) { b[8] = 'X' }), live: fails(name, mmap.ErrTag)},
		}...)
	}
	for i := range fileCases {
		fileCases[i].restart = fileCases[i].live
	}
	cases = append(cases, fileCases...)
	manifest := fails("manifest.json", persistence.ErrManifest)
	manifestCases := []strCase{
		{name: "manifest with an unknown kind", damage: func(t *testing.T, d, _ string) {
			editManifest(t, d, func(m map[string]any) { manifestColumn(m, "URL")["kind"] = "blob" })
		}},
		{name: "manifest: a string column of kind symbol", damage: func(t *testing.T, d, _ string) {
			editManifest(t, d, func(m map[string]any) { manifestColumn(m, "URL")["kind"] = "symbol" })
		}},
		{name: "manifest: a symbol column of kind string", damage: func(t *testing.T, d, _ string) {
			editManifest(t, d, func(m map[string]any) { manifestColumn(m, "Country")["kind"] = "string" })
		}},
		{name: "manifest: a fixed column of kind bytes", damage: func(t *testing.T, d, _ string) {
			editManifest(t, d, func(m map[string]any) { manifestColumn(m, "ID")["kind"] = "bytes" })
		}},
	}
	for i := range manifestCases {
		manifestCases[i].live, manifestCases[i].restart = same(manifest)
	}
	// A kind that fits the layout passes the manifest's own checks; the
	// record type refuses it, and table.Any the COMMIT sealed for the
	// manifest as it was.
	manifestCases = append(manifestCases, []strCase{
		{name: "manifest: a string column without its kind", damage: func(t *testing.T, d, _ string) {
			editManifest(t, d, func(m map[string]any) { delete(manifestColumn(m, "URL"), "kind") })
		}},
		{name: "manifest: a string column of kind bytes", damage: func(t *testing.T, d, _ string) {
			editManifest(t, d, func(m map[string]any) { manifestColumn(m, "URL")["kind"] = "bytes" })
		}},
	}...)
	for i := len(manifestCases) - 2; i < len(manifestCases); i++ {
		manifestCases[i].live, manifestCases[i].restart = same(fails("", table.ErrSchema, table.ErrCorrupt))
	}
	cases = append(cases, manifestCases...)

	tmpl := stringsTable(t)
	checkWorks := stringsCheckWorks(t, tmpl)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, restart := range []bool{false, true} {
				if restart && !long() && reflect.DeepEqual(c.live, c.restart) {
					// Refused before recovery looks at a boot: the long
					// mode runs it again after a restart.
					continue
				}
				dir, outside := copyStrings(t, tmpl)
				c.damage(t, dir, outside)
				func() {
					o := c.live
					if restart {
						o = c.restart
						bootid.Override("strings-corrupt-restart")
						defer bootid.Override("")
					}
					runStringsCase(t, dir, o, restart, checkWorks)
				}()
			}
		})
	}
	fig.add(&fig.cases, len(cases))
	t.Logf("%d damaged string, bytes and symbol tables, each opened read-only and writable, typed and untyped, live and after a restart", len(cases))
}

// stringsCheckWorks reports whether table.Check passes an intact table of
// crow: only then do its reports on damaged ones mean anything.
func stringsCheckWorks(t *testing.T, dir string) bool {
	r, err := table.Check(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() {
		t.Logf("table.Check does not pass an intact table of string columns yet; its reports are only required not to panic: %v", r.Err())
	}
	return r.OK()
}

// runStringsCase opens a damaged table every way, read-only first, and
// checks each against o.
func runStringsCase(t *testing.T, dir string, o strWant, restart, checkWorks bool) {
	t.Helper()
	where := map[bool]string{false: "live", true: "after a restart"}[restart]
	r, err := table.Check(dir)
	switch {
	case err != nil:
		t.Logf("%s: check: %v", where, err)
	case checkWorks && (o.want != nil || o.reset) && r.OK():
		t.Errorf("%s: table.Check passes the damaged table", where)
	}
	wasReset := 0 // values the first writable open reset
	for _, ro := range []bool{true, false} {
		for _, untyped := range []bool{false, true} {
			what := fmt.Sprintf("%s, read-only %v, untyped %v", where, ro, untyped)
			before := dataFiles(t, dir, true)
			var blank, reset int
			var err error
			if untyped {
				blank, reset, err = openStrings[table.Any](dir, ro)
			} else {
				blank, reset, err = openStrings[crow](dir, ro)
			}
			switch {
			case o.want != nil || (o.reset && ro):
				want, says := o.want, o.says
				if o.want == nil {
					want, says = []error{table.ErrNeedsRecovery}, "changed in place"
				}
				if err == nil {
					t.Fatalf("%s: opened, want an error matching %v", what, want)
				}
				if !slices.ContainsFunc(want, func(w error) bool { return errors.Is(err, w) }) {
					t.Fatalf("%s: error %q (%T) matches none of %v", what, err, err, want)
				}
				if !strings.Contains(err.Error(), says) {
					t.Fatalf("%s: error %q does not say %q", what, err, says)
				}
				if d := before.diff(dataFiles(t, dir, true)); d != "" {
					t.Fatalf("%s: the failed open changed the table's files: %s", what, d)
				}
				t.Logf("%s: %v", what, err)
			case err != nil:
				t.Fatalf("%s: %v", what, err)
			case !o.reset && (blank != 0 || reset != 0):
				t.Fatalf("%s: opened, with %d values read empty and %d reset, of an intact table", what, blank, reset)
			case o.reset && wasReset == 0:
				// The first writable open resets what it cannot trust, and
				// counts it.
				if reset == 0 || reset != blank {
					t.Fatalf("%s: opened, with %d values read empty and %d reset", what, blank, reset)
				}
				wasReset = reset
				t.Logf("%s: opened, %d values reset", what, reset)
			case o.reset && (reset != 0 || blank != wasReset):
				t.Fatalf("%s: opened after the reset of %d values, with %d read empty and %d reset again", what, wasReset, blank, reset)
			}
		}
	}
}

// openStrings opens dir as a Table[R] and reads every row and view value:
// each must be its row's value, or empty (reset by recovery). It returns
// how many read empty that were not, and how many values the open reset
// (Recovery.ValuesReset).
func openStrings[R any](dir string, ro bool) (blank, reset int, err error) {
	tb, err := table.Open[R](dir, &table.Options{ReadOnly: ro})
	if err != nil {
		return 0, 0, err
	}
	defer tb.Close()
	if tb.Len() != crowRows {
		return 0, 0, fmt.Errorf("opened with %d rows, want %d (%s)", tb.Len(), crowRows, tb.Recovered())
	}
	urls, err1 := table.Strings(tb, "URL")
	bodies, err2 := table.Strings(tb, "Body")
	countries, err3 := table.Symbols(tb, "Country")
	if err := errors.Join(err1, err2, err3); err != nil {
		return 0, 0, err
	}
	check := func(i int, what, got, want string) error {
		switch got {
		case want:
			return nil
		case "":
			blank++
			return nil
		}
		return fmt.Errorf("row %d: %s %q, want %q", i, what, got, want)
	}
	for i := range crowRows {
		w := mkCRow(i)
		if err := errors.Join(check(i, "URL", urls.String(i), w.URL), check(i, "Body", string(bodies.Bytes(i)), string(w.Body)),
			check(i, "Country", countries.String(i), string(w.Country))); err != nil {
			return 0, 0, err
		}
	}
	// Whole rows must agree with the views.
	if rows, ok := any(tb).(*table.Table[crow]); ok {
		for i, r := range rows.All() {
			w := mkCRow(i)
			if r.ID != w.ID || r.Dur != w.Dur || r.URL != urls.String(i) || string(r.Body) != string(bodies.Bytes(i)) ||
				string(r.Country) != countries.String(i) {
				return 0, 0, fmt.Errorf("row %d: %+v, but the views read %q %q %q", i, r, urls.String(i), bodies.Bytes(i), countries.String(i))
			}
		}
	}
	return blank, tb.Recovered().ValuesReset, nil
}

// TestTableStringsResetAfterRestart changes rows in place after the last
// Sync and closes without another: in the same boot every change is kept
// (the live words cover the new values); after a restart the committed
// extents do not, so a writer resets each value that points past them to
// empty, counts it in Recovery.ValuesReset, and keeps every other value,
// while a reader, which never writes, reports ErrNeedsRecovery.
func TestTableStringsResetAfterRestart(t *testing.T) {
	track(t)
	dir := stringsTable(t)
	tb, err := table.Open[crow](dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Row 9 gets new values in every column and a symbol the commit lacks;
	// row 11 a new URL and a symbol the commit holds.
	changed := map[int]crow{
		9:  {ID: 109, URL: "https://example.com/new", Body: []byte("new body"), Country: "NEW", Dur: 9.5},
		11: {ID: 111, URL: "https://example.com/other", Body: mkCRow(11).Body, Country: "DE", Dur: 11.5},
	}
	for i, r := range changed {
		if err := tb.SetRow(i, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := tb.Close(); err != nil {
		t.Fatal(err)
	}

	live := copyDir(t, dir)
	got := readCRows(t, live, false, 0)
	for i, r := range got {
		if w, ok := changed[i]; ok && !equalCRow(r, w) || !ok && !equalCRow(r, mkCRow(i)) {
			t.Fatalf("same boot: row %d is %+v", i, r)
		}
	}

	bootid.Override("strings-reset-restart")
	defer bootid.Override("")
	r, err := table.Open[crow](dir, &table.Options{ReadOnly: true})
	if err == nil {
		r.Close()
	}
	if !errors.Is(err, table.ErrNeedsRecovery) {
		t.Fatalf("a reader after the restart: %v, want ErrNeedsRecovery", err)
	}
	// Row 9 loses its three new values, row 11 its URL and Body (an equal
	// value is stored again, past the commit) but not its code, which the
	// commit holds; the fixed columns reached the disk with the rest of
	// the page cache.
	want := map[int]crow{9: {ID: 109, Dur: 9.5}, 11: {ID: 111, Country: "DE", Dur: 11.5}}
	got = readCRows(t, dir, false, 5)
	for i, r := range got {
		if w, ok := want[i]; ok && !equalCRow(r, w) || !ok && !equalCRow(r, mkCRow(i)) {
			t.Fatalf("after the restart: row %d is %+v", i, r)
		}
	}
	// The writer adopted the files: the next opens find nothing to reset.
	for _, ro := range []bool{true, false} {
		got = readCRows(t, dir, ro, 0)
		for i := range want {
			if !equalCRow(got[i], want[i]) {
				t.Fatalf("reopened read-only %v: row %d is %+v", ro, i, got[i])
			}
		}
	}
}

// readCRows opens dir and returns its rows, checking that the open reset
// wantReset values.
func readCRows(t *testing.T, dir string, ro bool, wantReset int) []crow {
	t.Helper()
	tb, err := table.Open[crow](dir, &table.Options{ReadOnly: ro})
	if err != nil {
		t.Fatalf("read-only %v: %v", ro, err)
	}
	defer tb.Close()
	if n := tb.Recovered().ValuesReset; n != wantReset {
		t.Fatalf("read-only %v: %d values reset, want %d (%s)", ro, n, wantReset, tb.Recovered())
	}
	rows := make([]crow, tb.Len())
	if n, err := tb.ReadRows(rows, 0); err != nil || n != crowRows {
		t.Fatalf("read-only %v: %d rows, %v", ro, n, err)
	}
	return rows
}

func equalCRow(a, b crow) bool {
	return a.ID == b.ID && a.URL == b.URL && string(a.Body) == string(b.Body) && a.Country == b.Country && a.Dur == b.Dur
}

// TestTableStringsReaderAfterRestart: a symbol added after the last Sync,
// then a power cut that let the dictionary's header page (its live count)
// reach the disk but not the page of the new entry's end offset. After
// the restart COMMIT's count is the one to trust, and a writer opens the
// table with its committed rows; a reader must too.
func TestTableStringsReaderAfterRestart(t *testing.T) {
	track(t)
	dir := stringsTable(t)
	tb, err := table.Open[crow](dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(tb.Append(crow{Country: "NEW"}), tb.Close()); err != nil {
		t.Fatal(err)
	}
	sym := filepath.Join(dir, "Country.sym")
	n := liveLen(t, sym)
	putEnd(t, dir, int(n)-1, 0) // the new entry's page never reached the disk
	bootid.Override("strings-reader-restart")
	defer bootid.Override("")
	for _, ro := range []bool{true, false} {
		rows := readCRows(t, dir, ro, 0)
		for i, r := range rows {
			if !equalCRow(r, mkCRow(i)) {
				t.Fatalf("read-only %v: row %d is %+v", ro, i, r)
			}
		}
	}
}

// TestTableStringsFailedOpenWritesNothing: an open that fails leaves the
// table's files as they were, so that what it refused can still be looked
// at (persist check, a copy for a bug report) as it was found.
func TestTableStringsFailedOpenWritesNothing(t *testing.T) {
	track(t)
	tmpl := stringsTable(t)
	for _, restart := range []bool{false, true} {
		dir, outside := copyStrings(t, tmpl)
		if restart {
			// Refused after the element columns were settled.
			setExtent("Country", liveLen(t, filepath.Join(dir, "Country.sym"))+2)(t, dir, outside)
			bootid.Override("strings-failed-open")
		} else {
			// Refused after the dictionary's bytes file was given the
			// length the damaged count implies.
			putLive(t, filepath.Join(dir, "Country.sym"), 1, false)
		}
		before := dataFiles(t, dir, true)
		_, err := table.Open[crow](dir, nil)
		bootid.Override("")
		if !errors.Is(err, table.ErrCorrupt) {
			t.Fatalf("restart %v: %v, want ErrCorrupt", restart, err)
		}
		if d := before.diff(dataFiles(t, dir, true)); d != "" {
			t.Errorf("restart %v: the failed open (%v) changed %s", restart, err, d)
		}
	}
}

// TestTableStringsRefreshDamaged: a reader beside a writer follows what
// the writer appended to the heaps and dictionaries on Refresh. Words
// another process damaged between an append and the Refresh (a count past
// the file or past the entries, an entry's offset going backwards, an
// element pointing past its heap or dictionary) are ErrCorrupt, and the
// reader keeps its rows, readable; a heap's frontier past the file is
// bounded by the file (the elements are what is checked).
func TestTableStringsRefreshDamaged(t *testing.T) {
	track(t)
	sym := func(d string) string { return filepath.Join(d, "Country.sym") }
	cases := []struct {
		name   string
		append crow
		damage func(t *testing.T, dir string)
		says   string // "": Refresh succeeds
	}{
		{"dictionary count past the file", crow{Country: "QQ"}, func(t *testing.T, d string) {
			writeAt(t, sym(d), liveAt, liveWord(1<<40))
		}, "1099511627776"},
		{"dictionary count past its entries", crow{Country: "QQ"}, func(t *testing.T, d string) {
			writeAt(t, sym(d), liveAt, liveWord(liveLen(t, sym(d))+2))
		}, "decrease"},
		{"dictionary entry past its bytes", crow{Country: "QQ"}, func(t *testing.T, d string) {
			writeAt(t, sym(d), colData+8*int(liveLen(t, sym(d))-1), 1<<50)
		}, "past the"},
		{"dictionary count fails its check bits", crow{Country: "QQ"}, func(t *testing.T, d string) {
			writeAt(t, sym(d), liveAt, liveWord(liveLen(t, sym(d)))^1<<60)
		}, "check bits"},
		{"span past the heap", crow{URL: "QQ"}, func(t *testing.T, d string) {
			writeAt(t, filepath.Join(d, "URL.col"), colData+spanSize*crowRows+8, 1<<40)
		}, "past the"},
		{"code past the dictionary", crow{Country: "DE"}, func(t *testing.T, d string) {
			writeBytes(t, filepath.Join(d, "Country.col"), colData+4*crowRows, ne.AppendUint32(nil, 77))
		}, "symbol code 77"},
		{"heap frontier past the file", crow{URL: "QQ"}, func(t *testing.T, d string) {
			writeAt(t, filepath.Join(d, "URL.bytes"), liveAt, liveWord(1<<40))
		}, ""},
	}
	tmpl := stringsTable(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir, _ := copyStrings(t, tmpl)
			w, err := table.Open[crow](dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			r, err := table.Open[crow](dir, &table.Options{ReadOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if err := w.Append(c.append); err != nil {
				t.Fatal(err)
			}
			c.damage(t, dir)
			err = r.Refresh()
			switch {
			case c.says == "" && err != nil:
				t.Fatalf("refresh: %v", err)
			case c.says == "" && (r.Len() != crowRows+1 || !equalCRow(r.Row(crowRows), c.append)):
				t.Fatalf("refresh: %d rows, the last %+v", r.Len(), r.Row(r.Len()-1))
			case c.says != "" && (!errors.Is(err, table.ErrCorrupt) || !strings.Contains(err.Error(), c.says)):
				t.Fatalf("refresh: %v, want ErrCorrupt saying %q", err, c.says)
			case c.says != "" && r.Len() != crowRows:
				t.Fatalf("a failed refresh moved the reader to %d rows", r.Len())
			}
			t.Logf("refresh: %v", err)
			y, err := table.Symbols(r, "Country")
			if err != nil {
				t.Fatal(err)
			}
			for i := range r.Len() {
				if got := r.Row(i); i < crowRows && !equalCRow(got, mkCRow(i)) {
					t.Fatalf("row %d is %+v", i, got)
				}
			}
			for code := range uint32(y.Symbols()) + 2 {
				_ = y.Value(code)
			}
		})
	}
}

// writeAt writes v at off in the file at path, as another process would
// beside the table's mappings.
func writeAt(t *testing.T, path string, off int, v uint64) {
	t.Helper()
	writeBytes(t, path, off, ne.AppendUint64(nil, v))
}

// writeBytes writes b at off in the file at path with pwrite, beside the
// mappings of a table that has it open.
func writeBytes(t *testing.T, path string, off int, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.WriteAt(b, int64(off))
	if err := errors.Join(err, f.Close()); err != nil {
		t.Fatal(err)
	}
}
