package export

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/mmapvec/persistence"

	"github.com/mmapvec/persistence/table"
)

// hiveDefault names the partition of the empty value, as Hive, Spark and
// DuckDB do.
const hiveDefault = "__HIVE_DEFAULT_PARTITION__"

// maxPartitions bounds the files a partitioned export keeps open.
const maxPartitions = 4096

// ParquetDir writes the table's rows as Parquet files under dir, which
// must not exist yet. Without [Options.PartitionBy] it writes
// dir/part-0.parquet; with it, Hive-style partitions
// dir/<column>=<value>/part-0.parquet, one per distinct value of that
// column, which Spark, Trino and DuckDB (hive_partitioning) read back as
// one dataset with the column restored from the directory names. The
// column must be a bool, integer, string or symbol column; it is not
// stored in the files (Hive's rule), values are escaped as Hive escapes
// them, and the empty string is __HIVE_DEFAULT_PARTITION__ (so a value
// of that name is refused, [ErrOption]). Each open
// partition holds its own row group, so memory grows with the number of
// distinct values (at most 4096) times a row group, which shrinks to fit:
// [Options.RowGroupBytes] is shared among them. It returns the rows
// written.
func ParquetDir[R any](t *table.Table[R], dir string, opts *Options) (int, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if _, err := os.Lstat(dir); err == nil {
		return 0, fmt.Errorf("%w: %s exists", ErrOption, dir)
	}
	if o.PartitionBy == "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return 0, fmt.Errorf("export: %w", err)
		}
		f, err := os.Create(filepath.Join(dir, "part-0.parquet"))
		if err != nil {
			return 0, fmt.Errorf("export: %w", err)
		}
		n, err := Parquet(t, f, &o)
		return n, errors.Join(err, f.Close())
	}
	src, err := newSource(t, o.rows())
	if err != nil {
		return 0, err
	}
	key := -1
	for k, l := range src.leaves {
		if strings.EqualFold(l.Column, o.PartitionBy) && l.Name == l.Column {
			key = k
		}
	}
	if key < 0 {
		return 0, fmt.Errorf("%w: partition column %q: no such column of one scalar, string or symbol", ErrOption, o.PartitionBy)
	}
	kl := src.leaves[key]
	switch kl.Kind {
	case "fixed", "bytes", "float32", "float64":
		return 0, fmt.Errorf("%w: partition column %q holds %s values; partition by a bool, integer, string or symbol column", ErrOption, kl.Name, kl.Kind)
	}
	leaves := append(append([]Leaf(nil), src.leaves[:key]...), src.leaves[key+1:]...)
	cols := slices.DeleteFunc(slices.Clone(src.cols), func(c persistence.ColumnSpec) bool { return c.Name == kl.Column })
	if len(leaves) == 0 {
		return 0, fmt.Errorf("%w: partition column %q is the only column", ErrOption, kl.Name)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil { // an empty table is an empty dataset
		return 0, fmt.Errorf("export: %w", err)
	}

	type part struct {
		f    *os.File
		w    *parquetWriter
		idx  []int
		rows int // in the current row group
	}
	parts := map[string]*part{}
	var order []*part
	closeAll := func() error {
		var errs []error
		for _, p := range order {
			errs = append(errs, p.w.w.Close(), p.f.Close())
		}
		return errors.Join(errs...)
	}
	groupRows := o.rowsPerGroup(src)
	flush := func(p *part) error {
		if len(p.idx) == 0 {
			return nil
		}
		if err := p.w.write(src, p.idx, 0, 0); err != nil {
			return err
		}
		p.rows += len(p.idx)
		p.idx = p.idx[:0]
		if p.rows >= max(block, groupRows/len(parts)) {
			p.rows = 0
			return p.w.w.Flush()
		}
		return nil
	}
	var text []byte
	for i := range src.rows {
		text = src.appendText(text[:0], &kl, i)
		p := parts[string(text)]
		if p == nil {
			if len(parts) == maxPartitions {
				return i, errors.Join(fmt.Errorf("%w: partition column %q has more than %d distinct values", ErrOption, kl.Name, maxPartitions), closeAll())
			}
			if string(text) == hiveDefault {
				// It names the empty value's partition: the two would
				// share one directory, and read back as one value.
				return i, errors.Join(fmt.Errorf("%w: partition column %q holds the value %q, which names the partition of the empty value", ErrOption, kl.Name, hiveDefault), closeAll())
			}
			name := hiveDefault
			if len(text) > 0 {
				name = hiveEscape(string(text))
			}
			sub := filepath.Join(dir, kl.Name+"="+name)
			if err := os.MkdirAll(sub, 0o755); err != nil {
				return i, errors.Join(fmt.Errorf("export: %w", err), closeAll())
			}
			f, err := os.Create(filepath.Join(sub, "part-0.parquet"))
			if err != nil {
				return i, errors.Join(fmt.Errorf("export: %w", err), closeAll())
			}
			w, err := newParquetWriter(f, cols, leaves, &o)
			if err != nil {
				return i, errors.Join(err, f.Close(), closeAll())
			}
			p = &part{f: f, w: w}
			parts[string(text)] = p
			order = append(order, p)
		}
		if p.idx = append(p.idx, i); len(p.idx) == block {
			if err := flush(p); err != nil {
				return i, errors.Join(err, closeAll())
			}
		}
		if o.Progress != nil && (i+1)%block == 0 {
			o.Progress(i+1, src.rows)
		}
	}
	for _, p := range order {
		if err := flush(p); err != nil {
			return src.rows, errors.Join(err, closeAll())
		}
	}
	if err := closeAll(); err != nil {
		return src.rows, fmt.Errorf("export: %w", err)
	}
	return src.rows, src.failed()
}

// hiveEscape escapes a partition value as Hive does: the characters that
// a path or Hive's own syntax would misread become %XX.
func hiveEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f || strings.IndexByte("\"#%'*/:=?\\{[]^", c) >= 0 {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
