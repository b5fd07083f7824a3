// Byte-level helpers: the file formats as FORMAT.md writes them (commit
// slots, JOURNAL records, header checksums), built and damaged by hand.

package torture_test

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

var ne = binary.NativeEndian

// Commit slot places of a Vec header (FORMAT.md) and of a COMMIT file for
// the five columns of trow.
const (
	vecSlot0, vecSlot1, vecSlotSize = 192, 224, 20
	commitSlotSize                  = 512
	commitSlotUsed                  = 40 + 8*5 + 4
)

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func copyFile(t testing.TB, from, to string) {
	t.Helper()
	if err := os.WriteFile(to, readFile(t, from), 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeTo(t *testing.T, dir, name, s string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func rm(t *testing.T, dir, name string) {
	t.Helper()
	if err := os.Remove(filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

func mkdir(t *testing.T, path string) {
	t.Helper()
	if err := os.Mkdir(path, 0o755); err != nil {
		t.Fatal(err)
	}
}

func patchFile(t *testing.T, path string, edit func(b []byte) []byte) {
	t.Helper()
	if err := os.WriteFile(path, edit(readFile(t, path)), 0o644); err != nil {
		t.Fatal(err)
	}
}

func resize(t *testing.T, path string, delta int64) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, fi.Size()+delta); err != nil {
		t.Fatal(err)
	}
}

// treeSum hashes every file under dir (names, modes, contents).
func treeSum(t testing.TB, dir string) string {
	t.Helper()
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %v\n", p, d.Type())
		if d.Type().IsRegular() {
			h.Write(readFile(t, p))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

// editManifest decodes manifest.json as generic JSON, edits it and writes
// it back.
func editManifest(t *testing.T, dir string, edit func(m map[string]any)) {
	t.Helper()
	p := filepath.Join(dir, "manifest.json")
	var m map[string]any
	if err := json.Unmarshal(readFile(t, p), &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func column0(m map[string]any) map[string]any {
	return m["columns"].([]any)[0].(map[string]any)
}

// fixHeaderCRC recomputes a column header's CRC after an edit (FORMAT.md:
// CRC-32C of [0, 48) at 64).
func fixHeaderCRC(h []byte) {
	ne.PutUint32(h[64:], crc32.Checksum(h[:48], crc32.MakeTable(crc32.Castagnoli)))
}

// liveWord is FORMAT.md's live length word: the length in the low 48 bits,
// a 16-bit check above.
func liveWord(n uint64) uint64 {
	return n | uint64(uint16(n)^uint16(n>>16)^uint16(n>>32)^0xA55A)<<48
}

// encodeCommit builds a COMMIT slot as FORMAT.md specifies it.
func encodeCommit(idx int, seq, rows, hash uint64, lengths []uint64) []byte {
	b := make([]byte, commitSlotSize)
	copy(b, "PCOMMIT1")
	ne.PutUint64(b[8:], seq)
	ne.PutUint64(b[16:], rows)
	ne.PutUint64(b[24:], hash)
	ne.PutUint32(b[32:], uint32(len(lengths)))
	p := 40
	for _, l := range lengths {
		ne.PutUint64(b[p:], l)
		p += 8
	}
	tab := crc32.MakeTable(crc32.Castagnoli)
	ne.PutUint32(b[p:], crc32.Update(crc32.Checksum(b[:p], tab), tab, []byte{byte(idx)}))
	return b
}

func lens(n uint64) []uint64 { return []uint64{n, n, n, n, n} }

// commitSeq reads the sequence number of the newest COMMIT slot.
func commitSeq(t *testing.T, dir string) uint64 {
	b := readFile(t, filepath.Join(dir, "COMMIT"))
	return max(ne.Uint64(b[8:]), ne.Uint64(b[commitSlotSize+8:]))
}

// journalRecord builds a valid JOURNAL record (FORMAT.md) for trow tables.
func journalRecord(op byte, seq, index, rowsBefore uint64) []byte {
	const rowSize = 8 + 8 + 4 + 6 + 8
	b := make([]byte, 4096)
	ne.PutUint32(b[0:], 0x544E5449)
	b[4] = op
	ne.PutUint64(b[8:], seq)
	ne.PutUint64(b[16:], index)
	ne.PutUint64(b[24:], rowsBefore)
	ne.PutUint32(b[32:], rowSize)
	c := crc32.Checksum(b[:36], crc32.MakeTable(crc32.Castagnoli))
	c = crc32.Update(c, crc32.MakeTable(crc32.Castagnoli), b[64:64+rowSize])
	ne.PutUint32(b[36:], c)
	return b
}

// mkFIFO makes a named pipe at path: a table file that must never be
// opened blocking.
func mkFIFO(t *testing.T, path string) {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Fatal(err)
	}
}

// linkDevZero makes path a symlink to /dev/zero: an endless file.
func linkDevZero(t *testing.T, path string) {
	t.Helper()
	if err := os.Symlink("/dev/zero", path); err != nil {
		t.Fatal(err)
	}
}
