// Damaged and hostile Vec files: each open fails with a typed error that
// names the file, or opens intact.

package torture_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/mmapvec/persistence/internal/bootid"
	"github.com/mmapvec/persistence/mmap"
)

// TestVecCorruptionMatrix is the corruption matrix for a standalone Vec,
// for the cases mmap's own tests leave out: sizes off by odd amounts,
// lengths that are well-formed but past the file, impossible element
// shapes. Each open fails with a sentinel that names the file, or opens
// with every element intact.
func TestVecCorruptionMatrix(t *testing.T) {
	track(t)
	const n = 100
	build := func(t *testing.T) string {
		path := vecPath(t.TempDir())
		v, err := mmap.Open[row](path, vecOpts)
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			if err := v.Push(mkRow(uint64(i), valOf(uint64(i)))); err != nil {
				t.Fatal(err)
			}
		}
		if err := v.Sync(); err != nil {
			t.Fatal(err)
		}
		if err := v.Close(); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(path, 4096+24*n); err != nil { // no spare capacity
			t.Fatal(err)
		}
		return path
	}
	cases := []struct {
		name   string
		damage func(t *testing.T, p string)
		reboot bool  // open as after a reboot: the committed length counts
		want   error // nil: opens intact
	}{
		// A partial element past the length is spare capacity (growth cut
		// part way), not corruption.
		{"extended by 1 byte", func(t *testing.T, p string) { resize(t, p, 1) }, false, nil},
		{"extended by 7 bytes", func(t *testing.T, p string) { resize(t, p, 7) }, false, nil},
		{"extended by 4095 bytes", func(t *testing.T, p string) { resize(t, p, 4095) }, false, nil},
		{"extended by 2 elements", func(t *testing.T, p string) { resize(t, p, 48) }, false, nil},
		{"shortened by 1 byte", func(t *testing.T, p string) { resize(t, p, -1) }, false, mmap.ErrLengthBeyondFile},
		{"shortened by 1 element", func(t *testing.T, p string) { resize(t, p, -24) }, false, mmap.ErrLengthBeyondFile},
		{"shortened by 1 element, reboot", func(t *testing.T, p string) { resize(t, p, -24) }, true, mmap.ErrLengthBeyondFile},
		{"header only", func(t *testing.T, p string) {
			if err := os.Truncate(p, 4096); err != nil {
				t.Fatal(err)
			}
		}, false, mmap.ErrLengthBeyondFile},
		{"one byte short of the header", func(t *testing.T, p string) {
			if err := os.Truncate(p, 4095); err != nil {
				t.Fatal(err)
			}
		}, false, mmap.ErrTruncated},
		{"live length past the file, check bits valid", func(t *testing.T, p string) {
			patchFile(t, p, func(b []byte) []byte { ne.PutUint64(b[128:], liveWord(1<<40)); return b })
		}, false, mmap.ErrLengthBeyondFile},
		{"live length at the format's limit", func(t *testing.T, p string) {
			patchFile(t, p, func(b []byte) []byte { ne.PutUint64(b[128:], liveWord(1<<48-1)); return b })
		}, false, mmap.ErrLengthBeyondFile},
		{"committed length past the file", func(t *testing.T, p string) {
			patchFile(t, p, func(b []byte) []byte {
				for _, off := range []int{vecSlot0, vecSlot1} {
					ne.PutUint64(b[off+8:], 1<<62) // the CRC no longer matches: a damaged slot
				}
				return b
			})
		}, true, mmap.ErrChecksum},
		{"element alignment 3", func(t *testing.T, p string) {
			patchFile(t, p, func(b []byte) []byte { ne.PutUint32(b[32:], 3); fixHeaderCRC(b); return b })
		}, false, mmap.ErrCorrupt},
		{"element size 0", func(t *testing.T, p string) {
			patchFile(t, p, func(b []byte) []byte { ne.PutUint32(b[28:], 0); fixHeaderCRC(b); return b })
		}, false, mmap.ErrCorrupt},
		{"element size 2^31", func(t *testing.T, p string) {
			patchFile(t, p, func(b []byte) []byte { ne.PutUint32(b[28:], 1<<31); fixHeaderCRC(b); return b })
		}, false, mmap.ErrElemType},
		{"unknown flags", func(t *testing.T, p string) {
			patchFile(t, p, func(b []byte) []byte { ne.PutUint16(b[22:], 1); fixHeaderCRC(b); return b })
		}, false, mmap.ErrCorrupt},
		{"boot id garbage", func(t *testing.T, p string) {
			patchFile(t, p, func(b []byte) []byte { copy(b[48:64], "garbage garbage!"); return b })
		}, false, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := build(t)
			c.damage(t, path)
			before := readFile(t, path)
			if c.reboot {
				bootid.Override("vec-matrix-reboot")
				defer bootid.Override("")
			}
			for _, ro := range []bool{true, false} {
				v, err := mmap.Open[row](path, &mmap.Options{Tag: vecOpts.Tag, ReadOnly: ro})
				if c.want != nil {
					if !errors.Is(err, c.want) || !strings.Contains(err.Error(), path) {
						t.Fatalf("read-only %v: want %v naming the file, got %v", ro, c.want, err)
					}
					if string(readFile(t, path)) != string(before) {
						t.Fatalf("read-only %v: a refused open changed the file", ro)
					}
					continue
				}
				if err != nil {
					t.Fatalf("read-only %v: %v", ro, err)
				}
				if v.Len() != n {
					t.Fatalf("read-only %v: %d elements, want %d", ro, v.Len(), n)
				}
				for i, r := range v.Slice() {
					if r != mkRow(uint64(i), valOf(uint64(i))) {
						t.Fatalf("read-only %v: element %d is %+v", ro, i, r)
					}
				}
				if err := v.Close(); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
	fig.add(&fig.cases, len(cases))
	t.Logf("%d corruption cases on a closed Vec (each opened read-only and writable)", len(cases))
}
