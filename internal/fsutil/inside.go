package fsutil

import (
	"path/filepath"
	"strings"
)

// Inside reports whether path is directory dir or lies below it, symbolic
// links resolved as far as each path exists: a table's own directory
// reached through a link, or a link inside it followed by "..", is found
// as the kernel would find it.
func Inside(dir, path string) bool {
	rel, err := filepath.Rel(Resolve(dir), Resolve(path))
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// Resolve makes p absolute with its longest existing prefix resolved as
// the kernel would: component by component, so that a ".." after a
// symbolic link climbs from the link's target (filepath.Abs and Dir would
// clean it away first).
func Resolve(p string) string {
	sep := string(filepath.Separator)
	parts := strings.Split(p, sep)
	for k := len(parts); k >= 0; k-- {
		q := strings.Join(parts[:k], sep)
		if q == "" {
			q = "."
			if filepath.IsAbs(p) {
				q = sep
			}
		}
		r, err := filepath.EvalSymlinks(q)
		if err != nil {
			continue
		}
		r = filepath.Join(append([]string{r}, parts[k:]...)...)
		if a, err := filepath.Abs(r); err == nil {
			return a
		}
		return r
	}
	return p
}
