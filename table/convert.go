package table

import (
	"encoding/binary"
	"errors"
	"fmt"
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
	rows := int(slot.rows)
	opts := &colfile.Options{Tag: columnTag, DataVersion: m.DataVersion}
	data := make([][]byte, len(m.Columns))
	for i, c := range m.Columns {
		if data[i], err = colfile.ReadForeign(filepath.Join(src, c.File), c.Layout, opts, rows); err != nil {
			return 0, fmt.Errorf("table: convert %s: column %q: %w", src, c.Name, err)
		}
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
		func(i int, r *colfile.File) error { return fill(r, data[i], rows) }, rows, "table.convert"); err != nil {
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
