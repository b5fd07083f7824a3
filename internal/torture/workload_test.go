// The workloads of the kill -9 and power-loss tests: the steps (op), a
// model of what a Vec or a table must hold after them, random steps, and
// the lines a child prints as it runs them.

package torture_test

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/mmapvec/persistence/internal/testproc"
)

// valOf is the value appended with a given id.
func valOf(id uint64) uint64 { return id*0xff51afd7ed558ccd + 1 }

func rowSum(id, val uint64) uint64 { return id*0x9e3779b97f4a7c15 ^ val ^ 0x5bd1e9955bd1e995 }

// op is one step of a Vec workload, in the text form the child prints
// before it starts the step:
//
//	A n id    append n rows with ids id, id+1, ...
//	S i val   set row i's value
//	R i       swap-remove row i
//	T n       truncate to n rows
//	Y         sync
//	B boot    close, reboot into boot id "boot" (in this process), reopen
type op struct {
	kind byte
	a, b uint64
	boot string
}

func (o op) String() string {
	switch o.kind {
	case 'A', 'S':
		return fmt.Sprintf("%c %d %d", o.kind, o.a, o.b)
	case 'R', 'T':
		return fmt.Sprintf("%c %d", o.kind, o.a)
	case 'B':
		return "B " + o.boot
	}
	return string(o.kind)
}

func parseOp(s string) (op, error) {
	f := strings.Fields(s)
	if len(f) == 0 || len(f[0]) != 1 {
		return op{}, fmt.Errorf("bad op %q", s)
	}
	o := op{kind: f[0][0]}
	want := map[byte]int{'A': 3, 'S': 3, 'R': 2, 'T': 2, 'Y': 1, 'B': 2}[o.kind]
	if want == 0 || len(f) != want {
		return op{}, fmt.Errorf("bad op %q", s)
	}
	if o.kind == 'B' {
		o.boot = f[1]
		return o, nil
	}
	var err error
	if len(f) > 1 {
		if o.a, err = strconv.ParseUint(f[1], 10, 64); err != nil {
			return op{}, err
		}
	}
	if len(f) > 2 {
		if o.b, err = strconv.ParseUint(f[2], 10, 64); err != nil {
			return op{}, err
		}
	}
	return o, nil
}

// rowType is a row of a workload: it can be made from an id and a value,
// and tells whether it is a mix of two writes.
type rowType interface {
	comparable
	id() uint64
	torn() bool
}

// makeRow builds the row of type T for id and val.
func makeRow[T rowType](id, val uint64) T {
	var z T
	switch any(z).(type) {
	case row:
		return any(mkRow(id, val)).(T)
	case trow:
		return any(mkTRow(id, val)).(T)
	}
	panic("unknown row type")
}

// model is what a file or table should hold: mem is every row slot ever
// written (the files' content, which outlives truncation), n the live
// length, committed the length of the last Sync, boot the boot id of the
// process that uses it.
type model[T rowType] struct {
	mem       []T
	n         int
	committed int
	boot      string
	nextID    uint64
	// synced is the rows of the last Sync: a table's open after a restart
	// applies its log, which puts a row changed in place since back as
	// that Sync left it, if a record since the last checkpoint holds it.
	synced []T
}

func (m model[T]) clone() model[T] {
	m.mem = append([]T(nil), m.mem...)
	return m
}

func (m model[T]) rows() []T { return m.mem[:m.n] }

// apply returns the model after o; it does not change m.
func (m model[T]) apply(o op) model[T] {
	m = m.clone()
	m.do(o)
	return m
}

// do applies o to m in place.
func (m *model[T]) do(o op) {
	switch o.kind {
	case 'A':
		for j := range int(o.a) {
			r := makeRow[T](o.b+uint64(j), valOf(o.b+uint64(j)))
			if m.n+j < len(m.mem) {
				m.mem[m.n+j] = r
			} else {
				m.mem = append(m.mem, r)
			}
		}
		m.n += int(o.a)
		m.nextID = max(m.nextID, o.b+o.a)
	case 'S':
		m.mem[o.a] = makeRow[T](m.mem[o.a].id(), o.b)
	case 'R':
		m.mem[o.a] = m.mem[m.n-1]
		m.n--
	case 'T':
		m.n = int(o.a)
	case 'Y':
		m.committed = m.n
		m.synced = append(m.synced[:0:0], m.mem[:m.n]...)
	case 'B':
		m.boot = o.boot
		m.n = m.committed
	}
}

// halfSwap is the state of a SwapRemove stopped between moving the last
// row and storing the new length: the Vec does not make SwapRemove atomic
// (the table's intent record does).
func (m model[T]) halfSwap(o op) (model[T], bool) {
	if o.kind != 'R' {
		return model[T]{}, false
	}
	m = m.clone()
	m.mem[o.a] = m.mem[m.n-1]
	return m, true
}

// randomOp picks a step for a Vec or table of n rows; ids continue from
// nextID. Past 50,000 rows it truncates rather than append, to keep the
// checks quick.
func randomOp(rng interface{ IntN(int) int }, n int, nextID uint64) op {
	switch k := rng.IntN(100); {
	case n > 50_000 && k < 45:
		return op{kind: 'T', a: uint64(rng.IntN(n))}
	case k < 45 || n == 0:
		c := 1 + rng.IntN(64)
		if rng.IntN(20) == 0 {
			c = 1 + rng.IntN(40_000) // crosses growth steps
		}
		return op{kind: 'A', a: uint64(c), b: nextID}
	case k < 60:
		return op{kind: 'S', a: uint64(rng.IntN(n)), b: uint64(rng.IntN(1 << 30))}
	case k < 75:
		return op{kind: 'R', a: uint64(rng.IntN(n))}
	case k < 90:
		return op{kind: 'T', a: uint64(n - rng.IntN(min(n, 100)+1))}
	default:
		return op{kind: 'Y'}
	}
}

// replay returns the model after ops, from an empty file in boot.
func replay[T rowType](ops []op, boot string) model[T] {
	m := model[T]{boot: boot}
	for _, o := range ops {
		m.do(o)
	}
	return m
}

// progress reads a workload child's lines: the steps acknowledged and the
// one in flight when it died, if any.
func progress(lines []string) (acked int, inflight *op, err error) {
	acked = -1
	for _, l := range lines {
		f := strings.SplitN(l, " ", 3)
		switch f[0] {
		case "begin":
			o, err := parseOp(f[2])
			if err != nil {
				return 0, nil, err
			}
			inflight = &o
		case "ack":
			k, _ := strconv.Atoi(f[1])
			if k != acked+1 {
				return 0, nil, fmt.Errorf("ack %d after ack %d", k, acked)
			}
			acked, inflight = k, nil
		case "error":
			return 0, nil, fmt.Errorf("child: %s", l)
		}
	}
	return acked, inflight, nil
}

func countAcks(lines []string) int {
	n := 0
	for _, l := range lines {
		if strings.HasPrefix(l, "ack ") {
			n++
		}
	}
	return n
}

// tail returns the last lines a child printed.
func tail(c *testproc.Child) []string {
	l := c.Lines()
	return l[max(0, len(l)-5):]
}

func fmtKinds(m map[byte]int) string {
	var b strings.Builder
	for _, k := range "ASRTYB" {
		if m[byte(k)] > 0 {
			fmt.Fprintf(&b, "%c=%d ", k, m[byte(k)])
		}
	}
	return strings.TrimSpace(b.String())
}
