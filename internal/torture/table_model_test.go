package torture_test

// trow is the row of the table workloads: five columns of different sizes,
// each derived from (ID, V), so a row whose columns come from two writes is
// seen as torn.
type trow struct {
	ID  uint64
	V   uint64
	A   int32
	B   [3]uint16
	Sum uint64
}

func mkTRow(id, val uint64) trow {
	h := id*0x9e3779b97f4a7c15 ^ val
	return trow{ID: id, V: val, A: int32(h >> 7), B: [3]uint16{uint16(h), uint16(h >> 16), uint16(h >> 32)}, Sum: rowSum(id, val)}
}

func (r trow) id() uint64 { return r.ID }

func (r trow) torn() bool { return r != mkTRow(r.ID, r.V) }
