package bench

import (
	"bufio"
	"encoding/gob"
	"encoding/json"
	"os"
)

// Saving a whole slice with encoding/gob or encoding/json and loading it back
// at start is how in-memory stores such as ECS worlds persist today; these are
// the Open workload's baselines.

func SaveGob(path string, rs []Row) error    { return save(path, rs, gobEnc) }
func SaveJSON(path string, rs []Row) error   { return save(path, rs, jsonEnc) }
func LoadGob(path string) ([]Row, error)     { return load(path, gobDec) }
func LoadJSON(path string) ([]Row, error)    { return load(path, jsonDec) }
func gobEnc(w *bufio.Writer, rs []Row) error { return gob.NewEncoder(w).Encode(rs) }
func jsonEnc(w *bufio.Writer, rs []Row) error {
	return json.NewEncoder(w).Encode(rs)
}
func gobDec(r *bufio.Reader, rs *[]Row) error  { return gob.NewDecoder(r).Decode(rs) }
func jsonDec(r *bufio.Reader, rs *[]Row) error { return json.NewDecoder(r).Decode(rs) }

func save(path string, rs []Row, enc func(*bufio.Writer, []Row) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if err := enc(w, rs); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func load(path string, dec func(*bufio.Reader, *[]Row) error) ([]Row, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var rs []Row
	err = dec(bufio.NewReaderSize(f, 1<<20), &rs)
	return rs, err
}
