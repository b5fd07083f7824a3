package arrowtable

import (
	"errors"
	"io"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/apache/arrow-go/v18/arrow/ipc"
)

// WriteIPCFile writes t's rows to w as an Arrow IPC file (the random-access
// format, "Feather v2"), a batch at a time: the memory it takes is that of
// one batch's copied buffers and of what w buffers.
func WriteIPCFile(w io.Writer, t Table, opts *Options) error {
	r, err := NewReader(t, opts)
	if err != nil {
		return err
	}
	defer r.Release()
	fw, err := ipc.NewFileWriter(w, ipc.WithSchema(r.Schema()), ipc.WithAllocator(r.mem))
	if err != nil {
		return err
	}
	return errors.Join(copyBatches(fw, r), fw.Close())
}

// WriteIPCStream writes t's rows to w as an Arrow IPC stream, a batch at a
// time, as WriteIPCFile does.
func WriteIPCStream(w io.Writer, t Table, opts *Options) error {
	r, err := NewReader(t, opts)
	if err != nil {
		return err
	}
	defer r.Release()
	sw := ipc.NewWriter(w, ipc.WithSchema(r.Schema()), ipc.WithAllocator(r.mem), ipc.WithDictionaryDeltas(true))
	return errors.Join(copyBatches(sw, r), sw.Close())
}

// copyBatches writes every batch of r to w.
func copyBatches(w interface{ Write(arrow.RecordBatch) error }, r *Reader) error {
	for r.Next() {
		if err := w.Write(r.RecordBatch()); err != nil {
			return err
		}
	}
	return r.Err()
}
