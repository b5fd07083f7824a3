# `make test` is the README's test command: every test of every module
# under the race detector, with progress (internal/testrun).
#
# The crash, fault and bad-input suite (internal/torture) and the fuzz
# targets, in their long modes. `make torture` runs everything; each test
# logs its figures and the run ends with a "torture figures:" line (trials,
# crash runs, power-loss images, cases, hooks, failures) per architecture.
# Randomized tests print their seed; replay one with PERSIST_SEED=<seed>.

GO ?= go
FUZZTIME ?= 60s

.PHONY: test torture torture-native torture-race torture-qemu torture-fuzz

test:
	$(GO) run ./internal/testrun -race -tags duckdb_arrow ./... ./bench/... ./interop/... ./cmd/persist/...

torture: torture-native torture-qemu torture-fuzz

# Long mode natively: 1000+ kill -9 trials, 10,000+ power-loss images.
torture-native:
	PERSIST_TORTURE=long $(GO) test -count=1 -v -timeout 90m ./internal/torture/

# The suite alone as the test command runs it (mode=race: fewer trials
# than natively, since the detector slows the processes and files that most
# of it is), every test's figures shown.
torture-race:
	$(GO) test -race -count=1 -v -timeout 30m ./internal/torture/

# The suite on the two other architectures of CI: arm64 and s390x (big-endian).
torture-qemu:
	PERSIST_TEST_EXEC=qemu-aarch64-static GOARCH=arm64 $(GO) test -count=1 -short -v -timeout 60m -exec qemu-aarch64-static ./internal/torture/
	PERSIST_TEST_EXEC=qemu-s390x-static GOARCH=s390x $(GO) test -count=1 -short -v -timeout 60m -exec qemu-s390x-static ./internal/torture/

# Each fuzz target for FUZZTIME.
torture-fuzz:
	$(GO) test -run='^$$' -fuzz='^FuzzHeader$$' -fuzztime=$(FUZZTIME) ./mmap/
	$(GO) test -run='^$$' -fuzz='^FuzzCommit$$' -fuzztime=$(FUZZTIME) ./table/
	$(GO) test -run='^$$' -fuzz='^FuzzTableDir$$' -fuzztime=$(FUZZTIME) ./table/
	$(GO) test -run='^$$' -fuzz='^FuzzReaders$$' -fuzztime=$(FUZZTIME) ./table/
	$(GO) test -run='^$$' -fuzz='^FuzzStrings$$' -fuzztime=$(FUZZTIME) ./table/
	$(GO) test -run='^$$' -fuzz='^FuzzWAL$$' -fuzztime=$(FUZZTIME) ./table/
	$(GO) test -run='^$$' -fuzz='^FuzzManifest$$' -fuzztime=$(FUZZTIME) .
