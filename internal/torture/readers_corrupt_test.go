package torture_test

import (
	"encoding/binary"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/mmapvec/persistence/internal/bootid"
	"github.com/mmapvec/persistence/internal/colfile"
	"github.com/mmapvec/persistence/table"
)

// readersPage crafts a READERS page as FORMAT.md lays it out, from the
// outside: what a hostile or stale file can hold.
type readersPage struct {
	boot                 bootid.ID
	pid, epoch, seq      uint64
	rowsWord, committedW uint64
	state                uint64
}

func (p readersPage) bytes() []byte {
	b := make([]byte, 4096)
	ne := binary.NativeEndian
	copy(b, "PREADER1")
	ne.PutUint32(b[8:], 1)
	copy(b[16:], p.boot[:])
	ne.PutUint64(b[32:], p.pid)
	ne.PutUint64(b[40:], p.epoch)
	ne.PutUint64(b[48:], p.seq)
	ne.PutUint64(b[56:], p.rowsWord)
	ne.PutUint64(b[64:], p.committedW)
	ne.PutUint64(b[72:], p.state)
	return b
}

// running is a page of a writer of this boot that runs (pid 1 always does).
func running(rows int) readersPage {
	return readersPage{boot: bootid.Current(), pid: 1, epoch: 1, seq: 2,
		rowsWord: colfile.LiveWord(rows), committedW: colfile.LiveWord(rows), state: 1}
}

// deadPID returns the pid of a process that has exited.
func deadPID(t *testing.T) uint64 {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return uint64(cmd.Process.Pid)
}

func writePage(t *testing.T, dir string, p readersPage) {
	t.Helper()
	writeTo(t, dir, "READERS", string(p.bytes()))
}

// readersMatrixCases damage the READERS file, the page a writer shares with
// its readers. A writer rebuilds the page (it holds no data); a reader never
// trusts a count its files cannot hold, waits for a running writer's change
// in place and gives up with ErrBusy, and reads the files when the page is
// stale, foreign or its writer dead.
func readersMatrixCases() []matrixCase {
	corrupt := []error{table.ErrCorrupt}
	readerExpects["READERS publishes rows past the files"] = readerExpect{corrupt, "published"}
	readerExpects["READERS count fails its check bits"] = readerExpect{corrupt, "check bits"}
	readerExpects["READERS of a running writer stuck in a change"] = readerExpect{[]error{table.ErrBusy}, "changing rows in place"}
	return []matrixCase{
		{name: "READERS is a directory", damage: func(t *testing.T, d, _ string) {
			rm(t, d, "READERS")
			mkdir(t, filepath.Join(d, "READERS"))
		}, want: corrupt, says: "READERS"},
		{name: "READERS is a symlink to a file outside", damage: func(t *testing.T, d, o string) {
			rm(t, d, "READERS")
			if err := os.Symlink(filepath.Join(o, "precious"), filepath.Join(d, "READERS")); err != nil {
				t.Fatal(err)
			}
		}, want: corrupt, says: "not a regular file"},
		{name: "READERS is a FIFO", damage: func(t *testing.T, d, _ string) {
			rm(t, d, "READERS")
			mkFIFO(t, filepath.Join(d, "READERS"))
		}, want: corrupt, says: "READERS"},
		{name: "READERS empty", damage: func(t *testing.T, d, _ string) { writeTo(t, d, "READERS", "") }},
		{name: "READERS missing", damage: func(t *testing.T, d, _ string) { rm(t, d, "READERS") }},
		{name: "READERS of random bytes", damage: func(t *testing.T, d, _ string) {
			seed := seed(t)
			b := make([]byte, 4096)
			r := rand.New(rand.NewPCG(seed, seed))
			for i := range b {
				b[i] = byte(r.Uint32())
			}
			writeTo(t, d, "READERS", string(b))
		}},
		{name: "READERS a sparse terabyte", damage: func(t *testing.T, d, _ string) {
			if err := os.Truncate(filepath.Join(d, "READERS"), 1<<40); err != nil {
				t.Skipf("no sparse terabyte here: %v", err)
			}
		}},
		{name: "READERS publishes rows past the files", damage: func(t *testing.T, d, _ string) {
			writePage(t, d, running(1<<40))
		}},
		{name: "READERS count fails its check bits", damage: func(t *testing.T, d, _ string) {
			p := running(matrixRows)
			p.rowsWord ^= 1 << 3
			writePage(t, d, p)
		}},
		{name: "READERS of a running writer stuck in a change", damage: func(t *testing.T, d, _ string) {
			p := running(matrixRows)
			p.seq = 3
			writePage(t, d, p)
		}},
		{name: "READERS of a dead writer part way through a change", damage: func(t *testing.T, d, _ string) {
			p := running(matrixRows / 2)
			p.seq, p.pid = 7, deadPID(t)
			writePage(t, d, p)
		}},
		{name: "READERS of a closed writer publishing fewer rows", damage: func(t *testing.T, d, _ string) {
			p := running(matrixRows / 2)
			p.state = 2
			writePage(t, d, p)
		}},
		{name: "READERS of another boot", damage: func(t *testing.T, d, _ string) {
			p := running(matrixRows / 2)
			p.boot[0] ^= 0xff
			writePage(t, d, p)
		}},
	}
}
