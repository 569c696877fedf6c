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

## bench: the benchmarks, 6 runs each, then benchstat tables comparing
## lastevent with the floor in the same run (docs/benchmarks.md explains them).
BENCHSTAT ?= $(GO) run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da
BENCHOUT  ?= bench/out/bench.txt
bench:
	@mkdir -p $(dir $(BENCHOUT))
	$(GO) test -run '^$$' -bench . -benchmem -count 6 ./bench | tee $(BENCHOUT)
	$(BENCHSTAT) -filter '.name:Observe' -col /impl $(BENCHOUT)
	$(BENCHSTAT) -filter '.name:ObserveVsFloor' $(BENCHOUT)
	$(BENCHSTAT) -filter '.name:ObserveConcurrent' -col /mode -row /impl,/sessions,/case $(BENCHOUT)
	$(BENCHSTAT) -filter '.name:BytesPerSession' $(BENCHOUT)
