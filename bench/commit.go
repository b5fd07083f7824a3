package bench

import (
	"os"

	"golang.org/x/sys/unix"
)

// Committer appends a batch of rows and makes it durable before returning:
// the shape of append+commit for every store compared.
type Committer interface {
	Commit(rs []Row) error
	Rows() (int, error)
	Close() error
}

// CommitAll feeds rs to c in batches of batch rows.
func CommitAll(c Committer, rs []Row, batch int) error {
	for from := 0; from < len(rs); from += batch {
		if err := c.Commit(rs[from:min(from+batch, len(rs))]); err != nil {
			return err
		}
	}
	return nil
}

// PageSync is the floor of commit latency: one 4096-byte page rewritten at
// offset 0 and fdatasync'd, the least any durable commit can cost on this disk.
type PageSync struct {
	f    *os.File
	page []byte
}

func NewPageSync(path string) (*PageSync, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	p := &PageSync{f: f, page: make([]byte, 4096)}
	// The first sync allocates the block; later ones only overwrite it.
	if err := p.Commit(); err != nil {
		f.Close()
		return nil, err
	}
	return p, nil
}

func (p *PageSync) Commit() error {
	p.page[0]++
	if _, err := unix.Pwrite(int(p.f.Fd()), p.page, 0); err != nil {
		return err
	}
	return unix.Fdatasync(int(p.f.Fd()))
}

func (p *PageSync) Close() error { return p.f.Close() }
