package arrowtable

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/mmapvec/persistence"
)

// DataType returns the Arrow type of a column of the manifest.
func DataType(c persistence.ColumnSpec) (arrow.DataType, error) {
	switch c.Kind {
	case persistence.KindString:
		return arrow.BinaryTypes.String, nil
	case persistence.KindBytes:
		return arrow.BinaryTypes.Binary, nil
	case persistence.KindSymbol:
		return &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Uint32, ValueType: arrow.BinaryTypes.String}, nil
	case "":
	default:
		return nil, fmt.Errorf("%w: column %q of kind %q", ErrUnsupported, c.Name, c.Kind)
	}
	n, err := tree(c.Layout)
	if err != nil {
		return nil, fmt.Errorf("column %q: %w", c.Name, err)
	}
	return n.dataType()
}

func (n *node) dataType() (arrow.DataType, error) {
	switch n.kind {
	case "array":
		if n.elem.kind == "uint8" && n.stride == 1 {
			return &arrow.FixedSizeBinaryType{ByteWidth: n.count}, nil
		}
		e, err := n.elem.dataType()
		if err != nil {
			return nil, err
		}
		return arrow.FixedSizeListOf(int32(n.count), e), nil
	case "struct":
		var fields []arrow.Field
		for _, f := range n.fields {
			if f.blank() {
				continue
			}
			t, err := f.dataType()
			if err != nil {
				return nil, err
			}
			fields = append(fields, arrow.Field{Name: f.name, Type: t})
		}
		return arrow.StructOf(fields...), nil
	}
	t, ok := scalarType(n.kind)
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrUnsupported, n.kind)
	}
	return t, nil
}

// Schema returns the Arrow schema of the manifest's columns, in its order.
func Schema(m persistence.Manifest) (*arrow.Schema, error) {
	fields := make([]arrow.Field, 0, len(m.Columns))
	for _, c := range m.Columns {
		t, err := DataType(c)
		if err != nil {
			return nil, err
		}
		fields = append(fields, arrow.Field{Name: c.Name, Type: t})
	}
	return arrow.NewSchema(fields, nil), nil
}
