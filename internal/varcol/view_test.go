package varcol

import (
	"testing"
)

func benchSpans(n int) []Span {
	s := make([]Span, n)
	at := uint64(0)
	for i := range s {
		l := uint64(24 + i%200)
		s[i] = Span{at, at + l}
		at += l
	}
	return s
}

// TestTotalLenSum: the sum without a test per row equals the guarded one
// for checked spans, odd counts included.
func TestTotalLenSum(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 1001, 3*parallelBlock + 5} {
		spans := benchSpans(n)
		want := 0
		for _, s := range spans {
			want += int(s.End - s.Start)
		}
		if got := sumLengths(spans); got != want {
			t.Fatalf("%d spans: %d, want %d", n, got, want)
		}
		if got := parallel(spans, sumLengths); got != want {
			t.Fatalf("%d spans in parallel: %d, want %d", n, got, want)
		}
	}
}

func BenchmarkSumLengths(b *testing.B) {
	spans := benchSpans(10 << 20)
	for b.Loop() {
		_ = sumLengths(spans)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(spans)), "ns/row")
}

func BenchmarkParallelSum(b *testing.B) {
	spans := benchSpans(10 << 20)
	for b.Loop() {
		_ = parallel(spans, sumLengths)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(spans)), "ns/row")
}

func TestCountCode(t *testing.T) {
	for _, n := range []int{0, 1, 7, 3*parallelBlock + 5} {
		codes := make([]uint32, n)
		want := 0
		for i := range codes {
			codes[i] = uint32(i % 5)
			if codes[i] == 3 {
				want++
			}
		}
		if got := parallel(codes, func(c []uint32) int { return countCode(c, 3) }); got != want {
			t.Fatalf("%d codes: %d, want %d", n, got, want)
		}
	}
}

func BenchmarkCountCode(b *testing.B) {
	codes := make([]uint32, 10<<20)
	for i := range codes {
		codes[i] = uint32(i * 7 % 200)
	}
	for b.Loop() {
		_ = countCode(codes, 3)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(codes)), "ns/row")
}
