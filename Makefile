# lastevent's two commands for a fresh machine: `make load` and `make test`.
GO      ?= go
PKGS    ?= ./...
# Extra flags for go test, e.g. make test TESTFLAGS='-run Flush -v'.
TESTFLAGS ?=

.PHONY: all test fmt-check vet load bench

all: test

## test: gofmt check, go vet, then every package under the race detector.
test: fmt-check vet
	$(GO) test -race -count=1 $(TESTFLAGS) $(PKGS)

fmt-check:
	@out="$$(gofmt -l .)"; if [ -n "$$out" ]; then \
		echo "gofmt would change these files:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

## load: the review's production scenario against the memory backend.
## Pass flags with LOADFLAGS, e.g. make load LOADFLAGS='-sessions 100000 -rate 100'.
LOADFLAGS ?=
load:
	$(GO) run ./bench/loadgen $(LOADFLAGS)

## bench: the core benchmarks, 6 runs each, summarized by benchstat.
BENCHSTAT ?= $(GO) run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da
bench:
	@mkdir -p bench/out
	$(GO) test -run '^$$' -bench . -benchmem -count 6 ./bench | tee bench/out/bench.txt
	$(BENCHSTAT) -col /impl -row /case bench/out/bench.txt
