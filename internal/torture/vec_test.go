// The Vec under test: its element, options and steps, and how an open
// Vec is compared with the model.

package torture_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/mmapvec/persistence/internal/bootid"
	"github.com/mmapvec/persistence/mmap"
)

// row is the element of the Vec workloads. Sum is a check over the other
// fields, so that a row made of two different writes is seen as torn.
type row struct {
	ID, Val, Sum uint64
}

func mkRow(id, val uint64) row { return row{ID: id, Val: val, Sum: rowSum(id, val)} }

func (r row) torn() bool { return r.Sum != rowSum(r.ID, r.Val) }

func (r row) id() uint64 { return r.ID }

var vecOpts = &mmap.Options{Tag: [8]byte{'T', 'O', 'R', 'T', 'U', 'R', 'E', '1'}}

func vecPath(dir string) string { return filepath.Join(dir, "v.col") }

type vecModel = model[row]

// runOp performs o on v; for 'B' it returns the reopened Vec.
func runOp(v *mmap.Vec[row], path string, o op) (*mmap.Vec[row], error) {
	switch o.kind {
	case 'A':
		rs := make([]row, o.a)
		for j := range rs {
			rs[j] = mkRow(o.b+uint64(j), valOf(o.b+uint64(j)))
		}
		return v, v.Append(rs...)
	case 'S':
		v.Set(int(o.a), mkRow(v.Get(int(o.a)).ID, o.b))
	case 'R':
		v.SwapRemove(int(o.a))
	case 'T':
		return v, v.Truncate(int(o.a))
	case 'Y':
		return v, v.Sync()
	case 'B':
		if err := v.Close(); err != nil {
			return v, err
		}
		bootid.Override(o.boot)
		return mmap.Open[row](path, vecOpts)
	}
	return v, nil
}

// checkVec compares an open Vec with the states it may be in. It returns
// the index of the state that matched.
func checkVec(v *mmap.Vec[row], states []vecModel) (int, error) {
	got := v.Slice()
	var reasons []string
	for k, m := range states {
		want := m.rows()
		if len(got) != len(want) {
			reasons = append(reasons, fmt.Sprintf("state %d: length %d, want %d", k, len(got), len(want)))
			continue
		}
		bad := -1
		for i := range got {
			if got[i] != want[i] {
				bad = i
				break
			}
		}
		if bad < 0 {
			return k, nil
		}
		reasons = append(reasons, fmt.Sprintf("state %d: row %d is %+v (torn %v), want %+v", k, bad, got[bad], got[bad].torn(), want[bad]))
	}
	return -1, fmt.Errorf("the Vec matches none of %d allowed states: %s", len(states), strings.Join(reasons, "; "))
}

// checkVecSkip is checkVec, with any value allowed at index skip (-1: none).
func checkVecSkip(v *mmap.Vec[row], states []vecModel, skip int) (int, error) {
	if skip < 0 {
		return checkVec(v, states)
	}
	var fixed []vecModel
	for _, m := range states {
		if skip < m.n && skip < v.Len() {
			m = m.clone()
			m.mem[skip] = v.Get(skip)
		}
		fixed = append(fixed, m)
	}
	return checkVec(v, fixed)
}

// readTail loads rows [m.n, m.n+k) of m.mem from the file itself.
func readTail(path string, m *vecModel, k int) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	buf := make([]byte, 24*k)
	n, err := f.ReadAt(buf, int64(4096+24*m.n))
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	for j := 0; (j+1)*24 <= n; j++ {
		b := buf[j*24:]
		r := row{ID: ne.Uint64(b), Val: ne.Uint64(b[8:]), Sum: ne.Uint64(b[16:])}
		if i := m.n + j; i < len(m.mem) {
			m.mem[i] = r
		} else {
			m.mem = append(m.mem, r)
		}
	}
	return nil
}

func mustExist(path string) error {
	_, err := os.Stat(path)
	return err
}
