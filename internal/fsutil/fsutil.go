//go:build unix

// Package fsutil holds the file system steps that make new files durable
// (write a complete file under a temporary name, fsync it, then put it in
// place and fsync the directory) and the one safe way to read a table's
// file whole: a regular file, not followed through a symlink, never
// blocking, its size checked before anything is allocated.
package fsutil

import (
	"errors"
	"os"
	"path/filepath"
)

// WriteTemp writes data to a new file in dir named from pattern (as
// os.CreateTemp), with mode 0644, fsyncs and closes it, and returns its
// path. The caller renames or links it into place and then calls
// [SyncDir]; on error nothing is left behind.
func WriteTemp(dir, pattern string, data []byte) (string, error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return "", err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(0o644) // CreateTemp makes 0600
	}
	if err == nil {
		err = f.Sync()
	}
	if err = errors.Join(err, f.Close()); err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// SyncDir fsyncs a directory, making entries created or renamed in it
// durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}

// ReplaceFile replaces dir/name with data atomically: a complete temporary
// file (.name.tmp*, which a cleaner may recognise as a leftover), fsynced,
// renamed into place, then the directory fsynced. A crash leaves the old
// file or the new one, never a mix.
func ReplaceFile(dir, name string, data []byte) error {
	tmp, err := WriteTemp(dir, "."+name+".tmp*", data)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		os.Remove(tmp)
		return err
	}
	return SyncDir(dir)
}
