package mmap_test

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mmapvec/persistence/mmap"
)

// newFile writes a Vec of 100 int64 (synced) and returns its path.
func newFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "v.col")
	v, err := mmap.Open[int64](path, &mmap.Options{Tag: [8]byte{'t', 'e', 's', 't'}, DataVersion: 7})
	require.NoError(t, err)
	for i := range 100 {
		require.NoError(t, v.Push(int64(i)))
	}
	require.NoError(t, v.Sync())
	require.NoError(t, v.Close())
	return path
}

var testOpts = &mmap.Options{Tag: [8]byte{'t', 'e', 's', 't'}, DataVersion: 7}

func patch(t *testing.T, path string, off int64, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	require.NoError(t, err)
	_, err = f.WriteAt(b, off)
	require.NoError(t, err)
	require.NoError(t, f.Close())
}

func TestBadFiles(t *testing.T) {
	u32 := func(x uint32) []byte { return binary.NativeEndian.AppendUint32(nil, x) }
	cases := []struct {
		name    string
		damage  func(t *testing.T, path string)
		open    func(path string) error
		want    error
		corrupt bool // also matches ErrCorrupt
	}{
		{"corrupt magic", func(t *testing.T, p string) { patch(t, p, 0, []byte("XXXX")) }, nil, mmap.ErrBadMagic, true},
		{"truncated under the header", func(t *testing.T, p string) { require.NoError(t, os.Truncate(p, 100)) }, nil, mmap.ErrTruncated, true},
		{"empty file", func(t *testing.T, p string) { require.NoError(t, os.Truncate(p, 0)) }, nil, mmap.ErrTruncated, true},
		{"last element cut short under the length", func(t *testing.T, p string) {
			require.NoError(t, os.Truncate(p, 4096+100*8-3))
		}, nil, mmap.ErrLengthBeyondFile, true},
		{"invalid endianness marker", func(t *testing.T, p string) { patch(t, p, 16, u32(0xdeadbeef)) }, nil, mmap.ErrEndianMarker, true},
		{"swapped endianness marker", func(t *testing.T, p string) { patch(t, p, 16, u32(0x04030201)) }, nil, mmap.ErrByteOrder, false},
		{"future format version", func(t *testing.T, p string) {
			editHeader(t, p, func(h []byte) { binary.NativeEndian.PutUint16(h[20:], 9) })
		}, nil, mmap.ErrFormatVersion, false},
		{"header checksum", func(t *testing.T, p string) { patch(t, p, 8, []byte("T")) }, nil, mmap.ErrChecksum, true},
		{"length beyond the file", func(t *testing.T, p string) {
			require.NoError(t, os.Truncate(p, 4096+8*50)) // shorter than 100 elements
		}, nil, mmap.ErrLengthBeyondFile, true},
		{"wrong tag", func(*testing.T, string) {}, func(p string) error {
			_, err := mmap.Open[int64](p, &mmap.Options{Tag: [8]byte{'o', 't', 'h', 'e', 'r'}, DataVersion: 7})
			return err
		}, mmap.ErrTag, false},
		{"wrong data version", func(*testing.T, string) {}, func(p string) error {
			_, err := mmap.Open[int64](p, &mmap.Options{Tag: testOpts.Tag, DataVersion: 8})
			return err
		}, mmap.ErrDataVersion, false},
		{"wrong element size", func(*testing.T, string) {}, func(p string) error {
			_, err := mmap.Open[int32](p, testOpts)
			return err
		}, mmap.ErrElemType, false},
		{"same size, other layout", func(*testing.T, string) {}, func(p string) error {
			_, err := mmap.Open[float64](p, testOpts)
			return err
		}, mmap.ErrElemType, false},
		{"both commit slots torn", func(t *testing.T, p string) {
			patch(t, p, 192, []byte{1, 2, 3})
			patch(t, p, 224, []byte{1, 2, 3})
		}, nil, mmap.ErrChecksum, true},
		{"live length word flipped", func(t *testing.T, p string) { patch(t, p, 128, []byte{0x40}) }, nil, mmap.ErrChecksum, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := newFile(t)
			c.damage(t, path)
			damaged, err := os.ReadFile(path)
			require.NoError(t, err)
			open := c.open
			if open == nil {
				open = func(p string) error { _, err := mmap.Open[int64](p, testOpts); return err }
			}
			err = open(path)
			require.ErrorIs(t, err, c.want)
			require.Contains(t, err.Error(), path, "the error names the file")
			if c.corrupt {
				require.ErrorIs(t, err, mmap.ErrCorrupt)
			} else {
				require.NotErrorIs(t, err, mmap.ErrCorrupt)
			}
			after, err := os.ReadFile(path)
			require.NoError(t, err)
			require.Equal(t, damaged, after, "a refused open writes nothing")
		})
	}
}

// TestEveryHeaderByteFlipped flips each byte of page 0 in turn: the open
// either fails with ErrCorrupt (or a typed mismatch) or, for a commit slot
// or the boot id, opens at the committed length with every synced element.
func TestEveryHeaderByteFlipped(t *testing.T) {
	path := newFile(t)
	clean, err := os.ReadFile(path)
	require.NoError(t, err)
	opened, failed := 0, 0
	for i := range 4096 {
		img := append([]byte(nil), clean...)
		img[i] ^= 0xff
		require.NoError(t, os.WriteFile(path, img, 0o644))
		v, err := mmap.Open[int64](path, &mmap.Options{Tag: testOpts.Tag, DataVersion: 7, ReadOnly: true})
		if err != nil {
			failed++
			if !isTyped(err) {
				t.Fatalf("byte %d: untyped error %v", i, err)
			}
			continue
		}
		opened++
		switch {
		case i >= 48 && i < 64: // the boot id: another boot's file, committed length
			require.Equal(t, mmap.SourceCommitted, v.Recovery().Source, "byte %d", i)
		case i >= 192 && i < 256: // a commit slot: the other one is used
			require.True(t, v.Recovery().SlotFallback, "byte %d", i)
		default:
			t.Errorf("byte %d: flip not detected", i)
		}
		require.Equal(t, 100, v.Len(), "byte %d: every synced element is there", i)
		require.NoError(t, v.Close())
	}
	t.Logf("%d flips refused, %d fell back to the other commit slot", failed, opened)
}

func isTyped(err error) bool {
	for _, e := range []error{mmap.ErrCorrupt, mmap.ErrByteOrder, mmap.ErrFormatVersion, mmap.ErrTag, mmap.ErrDataVersion, mmap.ErrElemType} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
