package colfile

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/mmapvec/persistence/internal/errs"
	"github.com/mmapvec/persistence/internal/layout"
)

// An element of 4 GiB or more does not fit the header's 32-bit size: the
// open refuses it (ErrTooLarge) before it creates anything, rather than
// record the size wrapped.
func TestOpenRefusesElementPast32Bits(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.col")
	l := layout.Layout{Size: 1 << 32, Align: 1, Leaves: []layout.Leaf{{Kind: "uint8", Size: 1}}}
	f, err := Open(path, l, &Options{Create: true})
	if err == nil {
		f.Close()
	}
	if !errors.Is(err, errs.ErrTooLarge) {
		t.Fatalf("Open of a %d-byte element: %v, want ErrTooLarge", l.Size, err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the refused open left %s: %v", path, err)
	}
}
