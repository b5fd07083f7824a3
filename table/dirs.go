package table

import (
	"errors"
	"os"
	"path/filepath"

	"github.com/mmapvec/persistence/internal/fsutil"
)

// mkdirParents creates the directories missing above dir, from the top
// down, and fsyncs the parent of each one it creates: a directory entry is
// durable only once the directory that holds it is synced, and a table
// that Open reported created must not lose its path in an OS crash. (dir
// itself is renamed into place, and its parent synced, by createNew.)
func mkdirParents(dir string) error {
	var missing []string
	for p := filepath.Dir(filepath.Clean(dir)); ; p = filepath.Dir(p) {
		_, err := os.Stat(p)
		if err == nil {
			break
		}
		if !errors.Is(err, os.ErrNotExist) {
			return err
		}
		missing = append(missing, p)
		if filepath.Dir(p) == p {
			break // a missing root: Mkdir below says why
		}
	}
	for i := len(missing) - 1; i >= 0; i-- {
		p := missing[i]
		// Another creator may win the race for the same parent: fine.
		if err := os.Mkdir(p, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
		if err := fsutil.SyncDir(filepath.Dir(p)); err != nil {
			return err
		}
	}
	return nil
}
