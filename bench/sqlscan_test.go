//go:build duckdb_arrow

package bench

import "testing"

func BenchmarkSQLGroupBy(b *testing.B)    { runWorkload(b, SQLGroupByWorkload(config())) }
func BenchmarkSQLBridgeHeap(b *testing.B) { runWorkload(b, SQLHeapWorkload(config())) }
