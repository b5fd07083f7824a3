package arrowtable

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// places says where the instances of a node lie in a column's bytes:
// instance j at base + j*stride, or, once a struct's padding breaks that
// rhythm inside an array, at offs[j].
type places struct {
	base, stride, n int
	offs            []int
}

func (p places) at(j int) int {
	if p.offs != nil {
		return p.offs[j]
	}
	return p.base + j*p.stride
}

// dense reports whether the instances, size bytes each, lie back to back:
// then they are an Arrow buffer as they are.
func (p places) dense(size int) bool { return p.offs == nil && p.stride == size }

// shift returns the places of what lies d bytes into each instance.
func (p places) shift(d int) places {
	if p.offs == nil {
		return places{base: p.base + d, stride: p.stride, n: p.n}
	}
	offs := make([]int, len(p.offs))
	for j, o := range p.offs {
		offs[j] = o + d
	}
	return places{offs: offs, n: p.n}
}

// fixedData builds the Arrow data of the n instances of a node at p in
// buf: the mapping's bytes themselves wherever the instances lie back to
// back (scalars but bools, [N]byte, arrays of them), copies where Arrow's
// layout differs (a struct's fields, which the rows interleave, and bools,
// which Arrow packs into bits).
func (b *builder) fixedData(n *node, dt arrow.DataType, buf []byte, p places) arrow.ArrayData {
	switch n.kind {
	case "bool":
		bits := b.alloc(int(bitutilBytes(p.n)))
		for j := range p.n {
			if buf[p.at(j)] != 0 {
				bits.Bytes()[j>>3] |= 1 << (j & 7)
			}
		}
		return b.data(dt, p.n, []*memory.Buffer{nil, bits}, nil)
	case "array":
		if fsb, ok := dt.(*arrow.FixedSizeBinaryType); ok {
			return b.data(dt, p.n, []*memory.Buffer{nil, b.values(buf, p, fsb.ByteWidth)}, nil)
		}
		child := places{n: p.n * n.count}
		if p.offs == nil && p.stride == n.count*n.stride {
			child.base, child.stride = p.base, n.stride
		} else {
			child.offs = make([]int, 0, child.n)
			for j := range p.n {
				for k := range n.count {
					child.offs = append(child.offs, p.at(j)+k*n.stride)
				}
			}
		}
		elem := b.fixedData(n.elem, dt.(*arrow.FixedSizeListType).Elem(), buf, child)
		defer elem.Release()
		return b.data(dt, p.n, []*memory.Buffer{nil}, []arrow.ArrayData{elem})
	case "struct":
		st := dt.(*arrow.StructType)
		var children []arrow.ArrayData
		i := 0
		for _, f := range n.fields {
			if f.blank() {
				continue
			}
			c := b.fixedData(f, st.Field(i).Type, buf, p.shift(f.offset-n.offset))
			defer c.Release()
			children = append(children, c)
			i++
		}
		return b.data(dt, p.n, []*memory.Buffer{nil}, children)
	}
	return b.data(dt, p.n, []*memory.Buffer{nil, b.values(buf, p, n.size)}, nil)
}

// values returns the n instances at p, size bytes each, as one buffer:
// the mapping's own bytes when they lie back to back, a copy otherwise.
func (b *builder) values(buf []byte, p places, size int) *memory.Buffer {
	if p.dense(size) {
		b.shared += p.n * size
		return memory.NewBufferBytes(buf[p.base : p.base+p.n*size : p.base+p.n*size])
	}
	out := b.alloc(p.n * size)
	dst := out.Bytes()
	for j := range p.n {
		at := p.at(j)
		copy(dst[j*size:(j+1)*size], buf[at:at+size])
	}
	return out
}

// dense reports whether instances of n lying size bytes apart are Arrow
// buffers as they are (see fixedData): no bools, no struct fields, no
// padding.
func (n *node) dense(size int) bool {
	switch n.kind {
	case "bool", "struct":
		return false
	case "array":
		return n.stride*n.count == size && n.elem.dense(n.stride)
	}
	return n.size == size
}

func bitutilBytes(n int) int { return (n + 7) / 8 }

// builder makes the arrays of one batch: it allocates the buffers that
// must be copies, and counts the bytes shared with the mapping and copied.
type builder struct {
	mem    memory.Allocator
	bufs   []*memory.Buffer // allocated, released with the batch's arrays
	shared int
	copied int
}

// alloc returns a zeroed buffer of n bytes.
func (b *builder) alloc(n int) *memory.Buffer {
	buf := memory.NewResizableBuffer(b.mem)
	buf.Resize(n)
	clear(buf.Bytes())
	b.bufs = append(b.bufs, buf)
	b.copied += n
	return buf
}

// data returns array data over buffers, which it retains.
func (b *builder) data(dt arrow.DataType, n int, buffers []*memory.Buffer, children []arrow.ArrayData) arrow.ArrayData {
	return array.NewData(dt, n, buffers, children, 0, 0)
}

// release drops the builder's own references to the buffers it allocated:
// the arrays that hold them keep them until they are released.
func (b *builder) release() {
	for _, buf := range b.bufs {
		buf.Release()
	}
	b.bufs = b.bufs[:0]
}
