// The table of the string crash tests: a string, a []byte and a Symbol
// column beside fixed ones, every value derived from the row's id and a
// version (so that a value torn, out of place or pointing at other bytes is
// seen), the model of what such a table may hold after a crash, and the
// checks of a reopened table against it.

package torture_test

import (
	"encoding/binary"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/mmapvec/persistence/internal/bootid"
	"github.com/mmapvec/persistence/table"
)

// srow is the row of the string workloads: URL, Body and Country derive
// from (ID, N), N being the row's version.
type srow struct {
	ID      uint64
	URL     string
	Body    []byte
	Country table.Symbol
	N       uint32
}

// sval is an srow in comparable form.
type sval struct {
	ID                 uint64
	URL, Body, Country string
	N                  uint32
}

func (r srow) val() sval {
	return sval{ID: r.ID, URL: r.URL, Body: string(r.Body), Country: string(r.Country), N: r.N}
}

func (v sval) row() srow {
	r := srow{ID: v.ID, URL: v.URL, Country: table.Symbol(v.Country), N: v.N}
	if v.Body != "" {
		r.Body = []byte(v.Body)
	}
	return r
}

// torn reports whether v is not the row its ID and version make.
func (v sval) torn() bool { return v != mkSVal(v.ID, v.N) }

// String shows a row with its long values cut short.
func (v sval) String() string {
	cut := func(s string) string {
		if len(s) > 40 {
			return strconv.Quote(s[:40]) + fmt.Sprintf("...(%d bytes)", len(s))
		}
		return strconv.Quote(s)
	}
	return fmt.Sprintf("{ID:%d N:%d URL:%s Body:%s Country:%s}", v.ID, v.N, cut(v.URL), cut(v.Body), cut(v.Country))
}

// appendVer is the version of an appended row; SetRow writes others.
const appendVer = 1

var countries = [...]string{"AR", "AU", "BR", "CA", "CH", "CN", "DE", "DK", "ES", "FI", "FR", "GB",
	"IN", "IT", "JP", "KR", "MX", "NL", "NO", "PL", "PT", "SE", "US", "ZA"}

// mkSVal is row id at version ver. Each value may be empty, short or (now
// and then) longer than a page, so that a SetRow makes values longer and
// shorter; a Country is one of a few codes or, now and then, a value of its
// own that grows the dictionary. Rows are remembered: the checks make the
// same ones many times.
func mkSVal(id uint64, ver uint32) sval {
	k := [2]uint64{id, uint64(ver)}
	if v, ok := svals.Load(k); ok {
		return v.(sval)
	}
	v := newSVal(id, ver)
	svals.Store(k, v)
	return v
}

var svals sync.Map // [2]uint64{id, ver} -> sval

// The shape of a value: empty, short (or, for a symbol, a common code), or
// long (a symbol of its own).
const (
	vEmpty = iota
	vShort
	vLong
)

// sShape returns the hash a row's values derive from and their shapes,
// without making them.
func sShape(id uint64, ver uint32) (h uint64, url, body, country int) {
	h = id*0x9e3779b97f4a7c15 ^ uint64(ver)*0xc2b2ae3d27d4eb4f
	h ^= h >> 29
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 32
	shape := func(k uint64, empty, long uint64) int {
		switch {
		case k < empty:
			return vEmpty
		case k < empty+long:
			return vLong
		}
		return vShort
	}
	return h, shape(h%16, 2, 1), shape((h>>8)%32, 6, 1), shape((h>>16)%10, 1, 1)
}

func newSVal(id uint64, ver uint32) sval {
	h, url, body, country := sShape(id, ver)
	var seed [32]byte
	binary.LittleEndian.PutUint64(seed[:], h)
	binary.LittleEndian.PutUint64(seed[8:], id)
	r := rand.NewChaCha8(seed)
	v := sval{ID: id, N: ver}
	prefix := "https://s.example/" + strconv.FormatUint(id, 10) + "/" + strconv.FormatUint(uint64(ver), 10) + "/"
	switch url {
	case vLong:
		v.URL = letters(r, prefix, 1000+int(r.Uint64()%4000))
	case vShort:
		v.URL = letters(r, prefix, int(r.Uint64()%60))
	}
	switch body {
	case vLong:
		v.Body = binaryValue(r, id, ver, 4096+int(r.Uint64()%8000))
	case vShort:
		v.Body = binaryValue(r, id, ver, 1+int(r.Uint64()%200))
	}
	switch country {
	case vLong:
		v.Country = "X" + strconv.FormatUint(id, 10) + "." + strconv.FormatUint(uint64(ver), 10)
	case vShort:
		v.Country = countries[(h>>24)%uint64(len(countries))]
	}
	return v
}

func mkSRow(id uint64, ver uint32) srow { return mkSVal(id, ver).row() }

// letters is prefix and n random letters.
func letters(r *rand.ChaCha8, prefix string, n int) string {
	b := make([]byte, len(prefix)+n)
	copy(b, prefix)
	_, _ = r.Read(b[len(prefix):])
	for i := len(prefix); i < len(b); i++ {
		b[i] = 'a' + b[i]%26
	}
	return string(b)
}

// binaryValue is n bytes: id and version, then random bytes (zeros too).
func binaryValue(r *rand.ChaCha8, id uint64, ver uint32, n int) string {
	b := make([]byte, max(n, 12))
	binary.LittleEndian.PutUint64(b, id)
	binary.LittleEndian.PutUint32(b[8:], ver)
	_, _ = r.Read(b[12:])
	return string(b[:n])
}

// emptied is v with its variable-length values reset.
func emptied(v sval) sval {
	v.URL, v.Body, v.Country = "", "", ""
	return v
}

// smodel is what a string table may hold. mem is every row slot written
// (the element files outlive a Truncate, and a restart shows the slots up
// to the last Sync's count again), n the live count, committed the last
// Sync's. Per slot, alt lists what else it may hold field by field (an
// append cut by a kill writes some columns only), touched marks it written
// since the last Sync (after a restart its values may be reset to empty),
// and reset marks one whose values a restart may have reset already.
type smodel struct {
	mem            []sval
	alt            map[int][]sval
	touched, reset map[int]bool
	n, committed   int
	boot           string
	nextID         uint64
	// synced is the rows of the last Sync: an open after a restart applies
	// the log, which puts a row changed in place since back as that Sync
	// left it, if a record since the last checkpoint holds it.
	synced []sval
}

func (m smodel) clone() smodel {
	m.mem = slices.Clone(m.mem)
	m.alt = maps.Clone(m.alt)
	m.touched = maps.Clone(m.touched)
	m.reset = maps.Clone(m.reset)
	return m
}

func (m smodel) apply(o op) smodel {
	m = m.clone()
	m.do(o)
	return m
}

// put writes v to slot i: all of its columns, so nothing else is possible.
func (m *smodel) put(i int, v sval) {
	for len(m.mem) <= i {
		m.mem = append(m.mem, sval{})
	}
	m.mem[i] = v
	delete(m.alt, i)
	delete(m.reset, i)
	m.touch(i)
}

func (m *smodel) touch(i int) {
	if m.touched == nil {
		m.touched = map[int]bool{}
	}
	m.touched[i] = true
}

func (m *smodel) addAlt(i int, v sval) {
	if m.alt == nil {
		m.alt = map[int][]sval{}
	}
	m.alt[i] = append(slices.Clip(m.alt[i]), v)
}

// do applies o to m in place (see op; 'C' is Compact).
func (m *smodel) do(o op) {
	switch o.kind {
	case 'A':
		for j := range int(o.a) {
			m.put(m.n+j, mkSVal(o.b+uint64(j), appendVer))
		}
		m.n += int(o.a)
		m.nextID = max(m.nextID, o.b+o.a)
	case 'S':
		m.put(int(o.a), mkSVal(m.mem[o.a].ID, uint32(o.b)))
	case 'R':
		i, last := int(o.a), m.n-1
		if i != last {
			alt, reset := m.alt[last], m.reset[last]
			m.put(i, m.mem[last])
			if alt != nil {
				m.alt[i] = alt
			}
			if reset {
				m.reset[i] = true
			}
		}
		m.n--
	case 'T':
		m.n = int(o.a)
	case 'Y', 'C': // Compact syncs first, and keeps the rows
		m.committed = m.n
		m.touched = nil
		m.synced = slices.Clone(m.mem[:m.n])
	case 'B':
		// A restart resets each value written since the last Sync that
		// points past what the Sync committed; which ones, the model does
		// not follow.
		m.boot = o.boot
		m.n = m.committed
		for i := range m.touched {
			if i < m.n {
				if m.reset == nil {
					m.reset = map[int]bool{}
				}
				m.reset[i] = true
			}
		}
		m.touched = nil
	}
}

// cands are the rows slot i may hold field by field.
func (m smodel) cands(i int) []sval {
	v := sval{}
	if i < len(m.mem) {
		v = m.mem[i]
	}
	return append([]sval{v}, m.alt[i]...)
}

// adopt returns m with rows [0, m.n) as got, which was checked against it.
func (m smodel) adopt(got []sval) smodel {
	m = m.clone()
	for i, v := range got {
		m.mem[i] = v
		delete(m.alt, i)
		delete(m.reset, i)
	}
	return m
}

// fieldsIn reports whether each field of got is that field of one of
// cands, or, for a variable-length field, empty if empty is allowed. It
// returns how many fields are empty where no candidate is.
func fieldsIn(got sval, cands []sval, empty bool) (ok bool, resets int) {
	var id, url, body, country, n bool
	for _, c := range cands {
		id = id || got.ID == c.ID
		n = n || got.N == c.N
		url = url || got.URL == c.URL
		body = body || got.Body == c.Body
		country = country || got.Country == c.Country
	}
	if !id || !n {
		return false, 0
	}
	for _, f := range [...]struct {
		in bool
		v  string
	}{{url, got.URL}, {body, got.Body}, {country, got.Country}} {
		switch {
		case f.in:
		case empty && f.v == "":
			resets++
		default:
			return false, 0
		}
	}
	return true, resets
}

// rowsFrom compares got with the rows m holds.
func (m smodel) rowsFrom(got []sval) error { return m.rowsFromOpen(got, false) }

// rowsFromOpen is rowsFrom for an open that applied the log (replayed):
// its records put a row changed in place since the last Sync back as that
// Sync left it, if one holds the row.
func (m smodel) rowsFromOpen(got []sval, replayed bool) error {
	if len(got) != m.n {
		return fmt.Errorf("%d rows, want %d", len(got), m.n)
	}
	for i, v := range got {
		cands := m.cands(i)
		if replayed && i < len(m.synced) {
			cands = append(cands, m.synced[i])
		}
		if ok, _ := fieldsIn(v, cands, m.reset[i]); !ok {
			return fmt.Errorf("row %d is %v (torn %v), want %v", i, v, v.torn(), m.cands(i)[0])
		}
	}
	return nil
}

func openSTable(dir string, ro bool) (*table.Table[srow], error) {
	// A small log, as openTable's: every power-loss image and crashed
	// table copied for a check copies the log.
	return table.Open[srow](dir, &table.Options{ReadOnly: ro, LogSize: 256 << 10})
}

// sBatch is the rows of an append of n rows from id.
func sBatch(id uint64, n int) []srow {
	rs := make([]srow, n)
	for j := range rs {
		rs[j] = mkSRow(id+uint64(j), appendVer)
	}
	return rs
}

// runSOp performs o on tb; for 'B' it returns the reopened table.
func runSOp(tb *table.Table[srow], dir string, o op) (*table.Table[srow], error) {
	switch o.kind {
	case 'A':
		if o.a == 1 {
			return tb, tb.Append(mkSRow(o.b, appendVer))
		}
		return tb, tb.AppendRows(sBatch(o.b, int(o.a)))
	case 'S':
		return tb, tb.SetRow(int(o.a), mkSRow(tb.Row(int(o.a)).ID, uint32(o.b)))
	case 'R':
		return tb, tb.SwapRemove(int(o.a))
	case 'T':
		return tb, tb.Truncate(int(o.a))
	case 'Y':
		return tb, tb.Sync()
	case 'C':
		return tb, tb.Compact()
	case 'B':
		if err := tb.Close(); err != nil {
			return tb, err
		}
		bootid.Override(o.boot)
		return openSTable(dir, false)
	}
	return tb, fmt.Errorf("unknown op %s", o)
}

// randomSOp picks a step for a string table of n rows, ids from nextID.
// Past 6,000 rows it truncates rather than append, to keep the checks
// quick.
func randomSOp(rng interface{ IntN(int) int }, n int, nextID uint64) op {
	switch k := rng.IntN(100); {
	case n > 6_000 && k < 45:
		return op{kind: 'T', a: uint64(rng.IntN(n))}
	case k < 45 || n == 0:
		c := 1 + rng.IntN(16)
		if rng.IntN(20) == 0 {
			c = 1 + rng.IntN(3000) // grows every file
		}
		return op{kind: 'A', a: uint64(c), b: nextID}
	case k < 62:
		return op{kind: 'S', a: uint64(rng.IntN(n)), b: uint64(2 + rng.IntN(1<<30))}
	case k < 75:
		return op{kind: 'R', a: uint64(rng.IntN(n))}
	case k < 88:
		return op{kind: 'T', a: uint64(n - rng.IntN(min(n, 50)+1))}
	case k < 91:
		return op{kind: 'C'}
	default:
		return op{kind: 'Y'}
	}
}

// readSRows reads every row with ReadRows, and checks that the zero-copy
// views of the three variable-length columns show the same values.
func readSRows(tb *table.Table[srow]) ([]sval, error) {
	n := tb.Len()
	got := make([]sval, 0, n)
	buf := make([]srow, 256)
	for i := 0; i < n; {
		k, err := tb.ReadRows(buf, i)
		if err != nil {
			return nil, fmt.Errorf("ReadRows from %d of %d: %w", i, n, err)
		}
		if k <= 0 {
			return nil, fmt.Errorf("ReadRows from %d of %d read none", i, n)
		}
		for _, r := range buf[:k] {
			got = append(got, r.val())
		}
		i += k
	}
	urls, err1 := table.Strings(tb, "URL")
	bodies, err2 := table.Strings(tb, "Body")
	syms, err3 := table.Symbols(tb, "Country")
	if err := firstErr(err1, err2, err3); err != nil {
		return nil, err
	}
	if urls.Len() != n || bodies.Len() != n || syms.Len() != n {
		return nil, fmt.Errorf("views of %d, %d, %d rows; the table has %d", urls.Len(), bodies.Len(), syms.Len(), n)
	}
	for i, v := range got {
		code := syms.Code(i)
		if urls.String(i) != v.URL || string(bodies.Bytes(i)) != v.Body || syms.String(i) != v.Country || syms.Value(code) != v.Country {
			return nil, fmt.Errorf("row %d: the views show URL %q, Body %d bytes, Country %q (code %d), ReadRows %v",
				i, urls.String(i), len(bodies.Bytes(i)), syms.String(i), code, v)
		}
		if c, ok := syms.Lookup(v.Country); v.Country != "" && (!ok || c != code) {
			return nil, fmt.Errorf("row %d: Country %q has code %d, Lookup gives %d, %v", i, v.Country, code, c, ok)
		}
	}
	return got, nil
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// matchStates finds the state among states that the rows of tb are, in
// the writer's boot: every row exact (field by field where the model is
// unsure), the files consistent. It returns its index and the rows.
func matchStates(tb *table.Table[srow], states []smodel) (int, []sval, error) {
	if err := checkFiles(tb); err != nil {
		return -1, nil, err
	}
	got, err := readSRows(tb)
	if err != nil {
		return -1, nil, err
	}
	var reasons []string
	for k, s := range states {
		err := s.rowsFromOpen(got, tb.Recovered().Replayed > 0)
		if err == nil {
			return k, got, nil
		}
		reasons = append(reasons, fmt.Sprintf("state %d: %v", k, err))
	}
	return -1, nil, fmt.Errorf("the table matches none of %d allowed states: %s", len(states), strings.Join(reasons, "; "))
}

// checkRestart checks rows got, opened after a restart with nothing lost
// (the files as a process left them), against the states the process may
// have left: each row as some state holds it field by field, a value of a
// row written since the last Sync possibly reset to empty, and each such
// reset counted in rec.ValuesReset, which counts no more than such rows
// hold. touched adds rows a step in flight wrote. After an earlier open in
// the same boot was killed (resetBefore), some resets may be its own.
func checkRestart(got []sval, rec table.Recovery, states []smodel, touched map[int]bool, resetBefore bool) error {
	mayReset := func(i int) bool {
		if touched[i] {
			return true
		}
		for _, s := range states {
			if s.touched[i] {
				return true
			}
		}
		return false
	}
	resets, bound := 0, 0
	for i := range max(len(got), states[0].committed) {
		if mayReset(i) {
			bound += 3
		}
	}
	for i, v := range got {
		var cands []sval
		reset := false
		for _, s := range states {
			cands = append(cands, s.cands(i)...)
			if i < len(s.synced) {
				cands = append(cands, s.synced[i])
			}
			reset = reset || s.reset[i]
		}
		// Empty where a restart before this one may have reset it.
		if reset {
			for _, c := range cands {
				cands = append(cands, emptied(c))
			}
		}
		ok, r := fieldsIn(v, cands, mayReset(i))
		if !ok {
			return fmt.Errorf("row %d is %v (torn %v), written by none of the states (first: %v)", i, v, v.torn(), cands[0])
		}
		resets += r
	}
	if resets > rec.ValuesReset && !resetBefore || rec.ValuesReset > bound {
		return fmt.Errorf("%d values read empty where the rows had others, and Recovery.ValuesReset is %d (at most %d values were written since the last Sync)",
			resets, rec.ValuesReset, bound)
	}
	return nil
}

// restartCounts are the row counts a table may have after a restart: a
// committed count, or the count after redoing a SwapRemove or Truncate
// made on exactly the committed rows (FORMAT.md: such an intent is redone
// after a restart too). redoneBefore: an open in this boot was killed
// after it may have redone the intent and cleared it, so this open finds
// the redone count with no intent to report.
func restartCounts(m smodel, o *op, states []smodel, rec table.Recovery, redoneBefore bool) []int {
	var lens []int
	for _, s := range states {
		lens = append(lens, s.committed)
	}
	if o != nil && (rec.Intent != "" || redoneBefore) && m.n == m.committed {
		switch o.kind {
		case 'R':
			lens = append(lens, m.committed-1)
		case 'T':
			lens = append(lens, int(o.a))
		}
	}
	return lens
}

// touchedBy are the slots o writes on a table of m.
func touchedBy(m smodel, o *op) map[int]bool {
	t := map[int]bool{}
	if o == nil {
		return t
	}
	switch o.kind {
	case 'A':
		for j := range int(o.a) {
			t[m.n+j] = true
		}
	case 'S', 'R':
		t[int(o.a)] = true
	}
	return t
}

// openRestarted opens dir in boot as after a restart and checks it against
// the states a process with step o in flight after m may have left (see
// checkRestart; resetBefore: an open in boot was killed before). It returns
// the recovery and the rows.
func openRestarted(dir, boot string, m smodel, o *op, resetBefore bool) (table.Recovery, []sval, error) {
	states := []smodel{m}
	if o != nil {
		states = append(states, m.apply(*o))
	}
	bootid.Override(boot)
	defer bootid.Override("")
	tb, err := openSTable(dir, false)
	if err != nil {
		return table.Recovery{}, nil, err
	}
	defer tb.Close()
	rec := tb.Recovered()
	if lens := restartCounts(m, o, states, rec, resetBefore); !slices.Contains(lens, tb.Len()) {
		return rec, nil, fmt.Errorf("%d rows, want a committed count %v (recovery: %s)", tb.Len(), lens, rec)
	}
	if err := checkFiles(tb); err != nil {
		return rec, nil, err
	}
	got, err := readSRows(tb)
	if err != nil {
		return rec, nil, err
	}
	if err := checkRestart(got, rec, states, touchedBy(m, o), resetBefore); err != nil {
		return rec, nil, fmt.Errorf("%w (recovery: %s)", err, rec)
	}
	return rec, got, nil
}

// fromCommit checks that a table opened in a new boot took its row count
// from COMMIT (an open killed in that boot may have left it live).
func fromCommit(rec table.Recovery) error {
	if rec.Source != table.SourceCommitted && rec.Source != table.SourceNew {
		return fmt.Errorf("a new boot, but the row count came from %q (recovery: %s)", rec.Source, rec)
	}
	return nil
}

// manifestExists tells a table from a directory left by a kill during its
// creation.
func manifestExists(dir string) bool {
	_, err := os.Stat(dir + "/manifest.json")
	return err == nil
}
