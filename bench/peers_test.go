package bench

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// tinyRows keeps go test fast while still crossing batch and chunk boundaries.
const tinyRows = 3000

func TestScanPeersAgree(t *testing.T) {
	wantI, wantF := ExpectedSums(tinyRows)
	gotI, gotF := NewHeapScan(tinyRows).Sum()
	if gotI != wantI || gotF != wantF {
		t.Fatalf("heap sums %d, %g; want %d, %g", gotI, gotF, wantI, wantF)
	}
	path := filepath.Join(t.TempDir(), "rows.arrow")
	if err := WriteArrowFile(path, tinyRows); err != nil {
		t.Fatal(err)
	}
	a, err := OpenArrowScan(path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if gotI, gotF := a.Sum(); gotI != wantI || gotF != wantF {
		t.Fatalf("arrow sums %d, %g; want %d, %g", gotI, gotF, wantI, wantF)
	}
}

func TestAppendPeersKeepEveryRow(t *testing.T) {
	rs := MakeRows(0, tinyRows)
	var c Columns
	c.AppendRows(rs)
	if c.Len() != tinyRows || c.Value[tinyRows-1] != rs[tinyRows-1].Value {
		t.Fatalf("heap columns hold %d rows", c.Len())
	}
	rec := ArrowBuild(rs)
	defer rec.Release()
	if rec.NumRows() != tinyRows {
		t.Fatalf("arrow record has %d rows", rec.NumRows())
	}
	dir := t.TempDir()
	raw := filepath.Join(dir, "rows.bin")
	if err := WriteChunks(raw, RowBytes(rs)); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(raw); err != nil || st.Size() != int64(tinyRows*RowSize) {
		t.Fatalf("raw file: %v, %v", st, err)
	}
	pq := filepath.Join(dir, "rows.parquet")
	if err := WriteParquet(pq, rs); err != nil {
		t.Fatal(err)
	}
	if n, err := ParquetRows(pq); err != nil || n != tinyRows {
		t.Fatalf("parquet rows %d, %v", n, err)
	}
}

func TestArk(t *testing.T) {
	rs := MakeRows(0, tinyRows)
	one, batch := NewArkStore(), NewArkStore()
	for _, r := range rs {
		one.Append(r)
	}
	batch.AppendRows(rs)
	_, want := ExpectedSums(tinyRows)
	for _, s := range []*ArkStore{one, batch} {
		if n := s.Len(); n != tinyRows {
			t.Fatalf("ark holds %d entities", n)
		}
		if got := s.SumValues(); got != want {
			t.Fatalf("ark value sum %g, want %g", got, want)
		}
	}
}

func TestCommitters(t *testing.T) {
	rs := MakeRows(0, 250)
	dir := t.TempDir()
	open := map[string]func(string) (Committer, error){
		"bbolt":  func(p string) (Committer, error) { return OpenBolt(p) },
		"sqlite": func(p string) (Committer, error) { return OpenSQLite(p) },
		"duckdb": func(p string) (Committer, error) { return OpenDuckDB(p) },
	}
	for name, o := range open {
		c, err := o(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := CommitAll(c, rs, 100); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if n, err := c.Rows(); err != nil || n != len(rs) {
			t.Fatalf("%s holds %d rows, %v", name, n, err)
		}
		if err := c.Close(); err != nil {
			t.Fatalf("%s: close: %v", name, err)
		}
	}
	p, err := NewPageSync(filepath.Join(dir, "page"))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Commit(); err != nil {
		t.Fatal(err)
	}
	p.Close()
}

func TestEncodingsRoundTrip(t *testing.T) {
	rs := MakeRows(0, tinyRows)
	dir := t.TempDir()
	for name, f := range map[string]struct {
		save func(string, []Row) error
		load func(string) ([]Row, error)
	}{"gob": {SaveGob, LoadGob}, "json": {SaveJSON, LoadJSON}} {
		p := filepath.Join(dir, name)
		if err := f.save(p, rs); err != nil {
			t.Fatal(err)
		}
		got, err := f.load(p)
		if err != nil || !slices.Equal(got, rs) {
			t.Fatalf("%s round trip: %d rows, %v", name, len(got), err)
		}
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := Median(c.in); got != c.want {
			t.Errorf("Median(%v) = %g, want %g", c.in, got, c.want)
		}
	}
}
