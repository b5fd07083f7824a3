package bench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMain lets the test binary serve as the reader processes of the
// readers workloads, as the report command does.
func TestMain(m *testing.M) {
	Child()
	os.Exit(m.Run())
}

func BenchmarkAppendBesideReaders(b *testing.B) { runWorkload(b, ReadersAppendWorkload(config())) }
func BenchmarkReaderLag(b *testing.B)           { runWorkload(b, ReaderLagWorkload(config())) }
func BenchmarkSnapshot(b *testing.B)            { runWorkload(b, SnapshotWorkload(config())) }

func TestReaderChildSumsEveryRow(t *testing.T) {
	want, _ := ExpectedSums(tinyRows)
	for role, sum := range map[string]int64{"sum:0s": want, "refresh:0s": 0} {
		t.Run(role, func(t *testing.T) {
			dir := t.TempDir()
			tab, err := OpenTable(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer tab.Close()
			k, err := startChild(role, dir)
			if err != nil {
				t.Fatal(err)
			}
			if err := tab.AppendRows(MakeRows(0, tinyRows)); err != nil {
				k.kill()
				t.Fatal(err)
			}
			figs, err := k.stop()
			if err != nil {
				t.Fatal(err)
			}
			if figs["rows"] != tinyRows || figs["sum"] != sum || figs["polls"] < 1 {
				t.Fatalf("reader figures %v, want rows=%d sum=%d", figs, tinyRows, sum)
			}
		})
	}
}

func TestReaderChildFailureIsReported(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "none")
	_, err := startChild("sum:1ms", missing)
	if err == nil || !strings.Contains(err.Error(), missing) {
		t.Fatalf("a reader of a missing table started: %v", err)
	}
	if _, err := startChild("nosuchrole:0s", t.TempDir()); err == nil || !strings.Contains(err.Error(), "unknown role") {
		t.Fatalf("an unknown role started: %v", err)
	}
}

func TestParseDone(t *testing.T) {
	m, err := parseDone(doneLine("rows", 3, "p99", int64(-7)))
	if err != nil || m["rows"] != 3 || m["p99"] != -7 || len(m) != 2 {
		t.Fatalf("parseDone: %v, %v", m, err)
	}
	for _, bad := range []string{"", "ready", "done rows", "done rows=x"} {
		if _, err := parseDone(bad); err == nil {
			t.Errorf("parseDone(%q) passed", bad)
		}
	}
}

func TestPercentile(t *testing.T) {
	xs := make([]int64, 100)
	for i := range xs {
		xs[i] = int64(i + 1)
	}
	for _, c := range []struct {
		q    float64
		want int64
	}{{0.5, 50}, {0.99, 99}, {1, 100}, {0, 1}} {
		if got := percentile(xs, c.q); got != c.want {
			t.Errorf("percentile(1..100, %g) = %d, want %d", c.q, got, c.want)
		}
	}
	if got := percentile(nil, 0.5); got != 0 {
		t.Errorf("percentile of none = %d", got)
	}
}
