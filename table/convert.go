package table

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/mmapvec/persistence"
	"github.com/mmapvec/persistence/internal/colfile"
	"github.com/mmapvec/persistence/lockfile"
)

// Convert copies the table in src, written on a machine of the other byte
// order, into a new table dst in this machine's byte order, swapping every
// scalar by the layouts recorded in src's manifest. It takes src's committed
// rows (the live lengths of another machine's boot are not trusted), reads
// src without writing to it, and returns the number of rows copied.
//
// dst must not exist. It is built in a directory next to it, filled and
// synced there, and renamed into place only when complete: after a crash
// dst is either absent or the whole converted table, and running Convert
// again removes what the interrupted run left and starts over.
//
// Only the byte order is converted: a table from a machine with another
// pointer size (int, uint) is refused.
func Convert(src, dst string) (int, error) {
	m, err := persistence.ReadManifest(src)
	if err != nil {
		return 0, err
	}
	host := persistence.HostArch()
	switch {
	case m.Arch.ByteOrder == host.ByteOrder:
		return 0, fmt.Errorf("table: convert %s: already %s, like this machine; nothing to convert", src, host.ByteOrder)
	case m.Arch.ByteOrder != colfile.ForeignOrder():
		return 0, fmt.Errorf("%w: convert %s: unknown byte order %q", persistence.ErrManifest, src, m.Arch.ByteOrder)
	case m.Arch.PointerSize != host.PointerSize:
		return 0, fmt.Errorf("%w: convert %s: pointer size %d, this machine %d; only the byte order can be converted", ErrArch, src, m.Arch.PointerSize, host.PointerSize)
	}
	if dst == "" {
		return 0, fmt.Errorf("table: convert %s: no destination directory", src)
	}
	cleanAside(dst) // what an interrupted Convert (or Open) of dst left
	if _, err := os.Lstat(dst); err == nil {
		return 0, fmt.Errorf("table: convert: %s exists; name a new directory", dst)
	}
	// Hold src's lock (shared) so that no writer changes it while it is read.
	lock, err := lockfile.Acquire(filepath.Join(src, lockFile), &lockfile.Options{Shared: true, NoCreate: true})
	if err != nil {
		return 0, fmt.Errorf("table: convert %s: %w", src, err)
	}
	defer lock.Release()

	bo := binary.ByteOrder(binary.BigEndian)
	if m.Arch.ByteOrder == "little-endian" {
		bo = binary.LittleEndian
	}
	slot, _, _, err := readCommitOrder(bo, filepath.Join(src, commitFile), m, m.Hash())
	if err != nil {
		return 0, fmt.Errorf("table: convert %s: %w", src, err)
	}
	if err := checkForeignLog(bo, src, m, slot); err != nil {
		return 0, fmt.Errorf("table: convert %s: %w", src, err)
	}
	rows := int(slot.rows)
	data, extent, err := readForeignColumns(src, m, slot, rows)
	if err != nil {
		return 0, fmt.Errorf("table: convert %s: %w", src, err)
	}

	out := *m
	out.Arch = host
	out.Created = persistence.Stamp{Time: nowUTC(), CPU: persistence.HostCPU()}
	out.LastWriterCPU = out.Created.CPU
	a, err := newAside(dst, asideConverting)
	if err != nil {
		return 0, fmt.Errorf("table: convert: create %s: %w", dst, err)
	}
	defer a.close()
	if err := populate(a.dir, &out, Options{DataVersion: m.DataVersion},
		func(i, j int, r *colfile.File) error { return fill(r, data[i][j], len(data[i][j])/r.ElemSize()) },
		rows, extent, "table.convert"); err != nil {
		return 0, fmt.Errorf("table: convert: create %s: %w", dst, err)
	}
	if err := a.rename("table.convert"); err != nil {
		if !a.renamed && (errors.Is(err, os.ErrExist) || errors.Is(err, errNotEmpty)) {
			return 0, fmt.Errorf("table: convert: %s was created by another process meanwhile; name a new directory", dst)
		}
		return 0, fmt.Errorf("table: convert: create %s: %w", dst, err)
	}
	return rows, nil
}

// readForeignColumns reads every file of every column of the table in src,
// written in the other byte order, into this machine's order: rows
// elements of each column file, and of each variable-length column's aux
// files what its committed extent covers (spans and dictionary offsets are
// swapped as the uint64s they are; bytes are bytes). It returns them by
// column and file, with the extents for the new COMMIT.
func readForeignColumns(src string, m *persistence.Manifest, slot commitSlot, rows int) ([][][]byte, func(string) uint64, error) {
	opts := &colfile.Options{Tag: columnTag, DataVersion: m.DataVersion}
	extents := map[string]uint64{}
	x := slot.lengths[len(m.Columns):]
	data := make([][][]byte, len(m.Columns))
	for i, c := range m.Columns {
		read := func(name string, l persistence.Layout, n uint64) error {
			if n > math.MaxInt {
				return fmt.Errorf("%w: column %q: %s: extent %d", ErrCorrupt, c.Name, name, n)
			}
			b, err := colfile.ReadForeign(filepath.Join(src, name), l, opts, int(n))
			if err != nil {
				return fmt.Errorf("column %q: %w", c.Name, err)
			}
			data[i] = append(data[i], b)
			return nil
		}
		if err := read(c.File, c.Layout, uint64(rows)); err != nil {
			return nil, nil, err
		}
		if !c.Variable() {
			continue
		}
		n := x[0]
		x = x[1:]
		extents[c.Name] = n
		aux, ls := c.AuxFiles(), auxLayouts(c.Kind)
		if err := read(aux[0], ls[0], n); err != nil {
			return nil, nil, err
		}
		if c.Kind == persistence.KindSymbol {
			var end uint64
			if n > 0 {
				offs := data[i][1]
				end = ne.Uint64(offs[len(offs)-8:])
			}
			if err := read(aux[1], ls[1], end); err != nil {
				return nil, nil, err
			}
		}
	}
	return data, func(name string) uint64 { return extents[name] }, nil
}

// checkForeignLog refuses a table whose last Syncs are still only in its
// log (its writer stopped without Close): the columns may lack them, and
// only an open on a machine of the table's byte order applies them.
func checkForeignLog(bo binary.ByteOrder, src string, m *persistence.Manifest, slot commitSlot) error {
	c, f, _, err := openChain(bo, src, os.O_RDONLY, m, slot.seq, slot.hash)
	if err != nil {
		return err
	}
	if f != nil {
		f.Close()
	}
	if n := len(c.records); n > 0 {
		return fmt.Errorf("%w: its log holds %d Syncs past its last checkpoint (its writer did not Close); open it writable once on a machine of its byte order (%s), then convert it",
			ErrNeedsRecovery, n, m.Arch.ByteOrder)
	}
	return nil
}
