// Package bench measures persistence against its peers, side by side in one run.
//
// Each Workload is one row of the report: the library's case and the peers
// it is judged against (heap slices, Apache Arrow, parquet-go, the Ark ECS,
// bbolt, SQLite, DuckDB, encoding/gob and encoding/json). Contenders are
// measured in turn within each round, after a discarded warm-up round, and
// the report keeps medians, because absolute times drift on shared machines
// while ratios taken in the same minutes hold.
//
// The workloads of readers beside a writer start reader processes: this
// same program run again with a role in its environment, which [Child]
// dispatches. A program that runs the workloads calls Child first.
//
// The report, from the repository root:
//
//	go run ./bench/cmd/report          # full sizes, a few minutes
//	go run ./bench/cmd/report -quick   # about a minute
//
// writes bench/results.md and bench/results.svg. The same workloads run as
// Go benchmarks, one sub-benchmark per contender, for profiling:
//
//	go test -run '^$' -bench Scan -cpuprofile cpu.prof ./bench
//	go test -short -run '^$' -bench . ./bench   # quick sizes
//
// Files go to PERSIST_BENCH_DIR, or the system temp dir, and are removed after
// each workload. It must be a real disk: on tmpfs, commit and open figures
// mean nothing.
package bench
