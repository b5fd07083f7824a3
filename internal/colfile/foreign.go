//go:build unix

package colfile

import (
	"encoding/binary"
	"io"
	"os"

	"github.com/mmapvec/persistence/internal/errs"
	"github.com/mmapvec/persistence/internal/layout"
)

// swappedOrder is the byte order this machine is not.
var swappedOrder = func() binary.ByteOrder {
	if nativeOrder() == "little-endian" {
		return binary.BigEndian
	}
	return binary.LittleEndian
}()

// ReadForeign reads elements [0, n) of a column file written on a machine
// of the other byte order and returns them in this machine's byte order,
// every scalar swapped by layout. The header is checked as [Open] checks it,
// in the writer's byte order, against layout and opts (Tag, DataVersion);
// the file is read with pread, never mapped or written. The file's own
// length fields are not used: the caller knows n (a table's COMMIT).
func ReadForeign(path string, layout layout.Layout, opts *Options, n int) ([]byte, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	f, size, err := openRegular(path, os.O_RDONLY)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if size < headerSize {
		return nil, errs.File(path, errs.ErrTruncated, "file is %d bytes, the header alone is %d", size, headerSize)
	}
	page := make([]byte, headerSize)
	if _, err := f.ReadAt(page, 0); err != nil {
		return nil, err
	}
	h, err := decodeHeaderOrder(path, page, swappedOrder)
	if err != nil {
		return nil, err
	}
	switch {
	case h.tag != o.Tag:
		return nil, errs.File(path, errs.ErrTag, "file has tag %q, asked for %q", h.tag[:], o.Tag[:])
	case h.dataVersion != o.DataVersion:
		return nil, errs.File(path, errs.ErrDataVersion, "file has data version %d, asked for %d", h.dataVersion, o.DataVersion)
	case int(h.elemSize) != layout.Size || int(h.elemAlign) != layout.Align || h.fingerprint != layout.Fingerprint():
		return nil, errs.File(path, errs.ErrElemType, "file holds %d-byte elements (layout %016x), asked for %s", h.elemSize, h.fingerprint, layout)
	}
	body := size - headerSize // a partial element at the end is spare capacity
	if n < 0 || int64(n) > body/int64(layout.Size) {
		return nil, errs.File(path, errs.ErrLengthBeyondFile, "length %d, the file holds %d elements", n, body/int64(layout.Size))
	}
	data := make([]byte, n*layout.Size)
	if _, err := f.ReadAt(data, headerSize); err != nil && err != io.EOF {
		return nil, err
	}
	SwapBytes(data, layout)
	return data, nil
}

// SwapBytes reverses the byte order of every scalar of every element of
// layout in data, in place: it converts between the two byte orders.
func SwapBytes(data []byte, layout layout.Layout) {
	for e := 0; e+layout.Size <= len(data); e += layout.Size {
		for _, leaf := range layout.Leaves {
			unit := leaf.Size
			if leaf.Kind == "complex64" || leaf.Kind == "complex128" {
				unit /= 2 // real and imaginary parts swap separately
			}
			if unit <= 1 {
				continue
			}
			swapLeaf(data[e:], leaf.Offset, leaf.Size, unit, leaf.Dims)
		}
	}
}

func swapLeaf(elem []byte, off, size, unit int, dims []layout.Dim) {
	if len(dims) == 0 {
		for u := off; u < off+size; u += unit {
			b := elem[u : u+unit]
			for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
				b[i], b[j] = b[j], b[i]
			}
		}
		return
	}
	for k := range dims[0].Count {
		swapLeaf(elem, off+k*dims[0].Stride, size, unit, dims[1:])
	}
}

// ForeignOrder names the byte order that [ReadForeign] reads.
func ForeignOrder() string { return otherOrder() }
