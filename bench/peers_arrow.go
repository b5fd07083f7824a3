package bench

import (
	"fmt"
	"os"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/math"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"golang.org/x/sys/unix"
)

var arrowSchema = arrow.NewSchema([]arrow.Field{
	{Name: "ID", Type: arrow.PrimitiveTypes.Int64},
	{Name: "TS", Type: arrow.PrimitiveTypes.Int64},
	{Name: "Value", Type: arrow.PrimitiveTypes.Float64},
	{Name: "Count", Type: arrow.PrimitiveTypes.Uint64},
}, nil)

// arrowBatchRows keeps IPC record batches well under the reader's body limit,
// the way Arrow files are written in practice.
const arrowBatchRows = 1 << 20

// ArrowBuilder appends rows to an Arrow record builder, growth included.
func ArrowBuild(rs []Row) arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.DefaultAllocator, arrowSchema)
	defer b.Release()
	id := b.Field(0).(*array.Int64Builder)
	ts := b.Field(1).(*array.Int64Builder)
	val := b.Field(2).(*array.Float64Builder)
	cnt := b.Field(3).(*array.Uint64Builder)
	for _, r := range rs {
		id.Append(r.ID)
		ts.Append(r.TS)
		val.Append(r.Value)
		cnt.Append(r.Count)
	}
	return b.NewRecordBatch()
}

// WriteArrowFile writes rows [0, n) as an Arrow IPC file.
func WriteArrowFile(path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w, err := ipc.NewFileWriter(f, ipc.WithSchema(arrowSchema))
	if err != nil {
		f.Close()
		return err
	}
	for from := 0; from < n; from += arrowBatchRows {
		rec := ArrowBuild(MakeRows(from, min(arrowBatchRows, n-from)))
		err = w.Write(rec)
		rec.Release()
		if err != nil {
			f.Close()
			return err
		}
	}
	if err := w.Close(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// ArrowScan sums over a memory-mapped Arrow IPC file with arrow/math, the
// zero-copy path Arrow offers for data at rest.
type ArrowScan struct {
	data    []byte
	r       *ipc.FileReader
	ids     []*array.Int64
	values  []*array.Float64
	batches []arrow.RecordBatch
}

func OpenArrowScan(path string) (*ArrowScan, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	data, err := unix.Mmap(int(f.Fd()), 0, int(st.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, err
	}
	s := &ArrowScan{data: data}
	s.r, err = ipc.NewMappedFileReader(data)
	if err != nil {
		s.Close()
		return nil, err
	}
	for i := range s.r.NumRecords() {
		rec, err := s.r.RecordBatch(i)
		if err != nil {
			s.Close()
			return nil, err
		}
		rec.Retain()
		s.batches = append(s.batches, rec)
		ids, ok1 := rec.Column(0).(*array.Int64)
		vals, ok2 := rec.Column(2).(*array.Float64)
		if !ok1 || !ok2 {
			s.Close()
			return nil, fmt.Errorf("arrow: unexpected column types %T, %T", rec.Column(0), rec.Column(2))
		}
		s.ids = append(s.ids, ids)
		s.values = append(s.values, vals)
	}
	return s, nil
}

func (s *ArrowScan) Sum() (int64, float64) {
	var a int64
	var b float64
	for i := range s.ids {
		a += math.Int64.Sum(s.ids[i])
		b += math.Float64.Sum(s.values[i])
	}
	return a, b
}

func (s *ArrowScan) Close() error {
	for _, b := range s.batches {
		b.Release()
	}
	s.batches, s.ids, s.values = nil, nil, nil
	if s.r != nil {
		s.r.Close()
	}
	return unix.Munmap(s.data)
}
