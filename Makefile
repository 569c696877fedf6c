# lastevent's two commands for a fresh machine: `make load` and `make test`.
GO      ?= go
PKGS    ?= ./...
# Extra flags for go test, e.g. make test TESTFLAGS='-run Flush -v'.
TESTFLAGS ?=

.PHONY: all test fmt-check vet load bench eventsource browser example fuzz

all: test

## test: gofmt check, go vet, then every package under the race detector,
## with a fresh dynalite (the DynamoDB API, tools/dynalite) and a fresh
## redis-server (tools/redis) each on a free port of 127.0.0.1 for
## backends/dynamodb and backends/redis; both are stopped afterwards, also
## when tests fail. Needs node and npm (dynalite is installed with npm ci)
## and redis-server (tools/redis/run.sh installs the Debian package when it
## is missing).
test: fmt-check vet eventsource browser
	tools/dynalite/run.sh tools/redis/run.sh $(GO) test -race -count=1 $(TESTFLAGS) $(PKGS)

fmt-check:
	@out="$$(gofmt -l .)"; if [ -n "$$out" ]; then \
		echo "gofmt would change these files:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

## eventsource: the npm eventsource client (pinned by
## tools/eventsource/package-lock.json) that examples/sserelay's end-to-end
## tests run; installed with npm ci when node_modules is missing.
eventsource:
	@test -d tools/eventsource/node_modules/eventsource || \
		(cd tools/eventsource && npm ci --no-audit --no-fund --loglevel=error)

## browser: what examples/sserelay's browser test drives: Debian's chromium,
## installed with apt-get (through sudo when not root) when
## /usr/bin/chromium is missing, and puppeteer-core, pinned by
## tools/browser/package-lock.json and installed with npm ci (it downloads
## no browser). If chromium cannot be installed it says so; the test then
## skips, except under CI=true, where it fails.
browser:
	@test -x /usr/bin/chromium || { \
		sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
		echo "browser: installing chromium: $$sudo apt-get install -y chromium"; \
		$$sudo apt-get update -qq && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null || \
			echo "browser: could not install chromium; the browser test needs /usr/bin/chromium"; }
	@test -d tools/browser/node_modules/puppeteer-core || \
		(cd tools/browser && npm ci --no-audit --no-fund --loglevel=error)

## example: the SSE relay example (examples/sserelay/README.md) in one
## command: builds upstream, relay and client into bin/sserelay and runs them
## on 127.0.0.1 (UPSTREAM_ADDR, RELAY_ADDR, RELAY_FLAGS override); Ctrl-C
## stops all three.
example:
	$(GO) build -o bin/sserelay/ ./examples/sserelay/upstream ./examples/sserelay/relay ./examples/sserelay/client
	bash examples/sserelay/run.sh bin/sserelay

## fuzz: every go test -fuzz target of the module in turn, FUZZTIME each
## (make fuzz FUZZTIME=30s). fuzz/targets.sh finds them by grepping every
## *_test.go for `func Fuzz`, so a new target anywhere is never forgotten.
## The seed corpora (testdata/fuzz) already run under make test.
FUZZTIME ?= 30s
fuzz:
	@set -e; ./fuzz/targets.sh | while read -r pkg name; do \
		echo "== $$name ($$pkg), $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) "$$pkg"; \
	done

## load: bench/loadgen's two scenarios against the memory backend, one after
## the other, about 35 s in all: default (100 sessions x 10 events/s, steady,
## 10% replays, 10 s: a small relay), then realistic (10,000 sessions sending
## bursts of 5 events every 5 s, every backend call delayed 5-20 ms, 20 s: a
## relay at scale in front of a cloud key-value store). Each prints its table
## against our targets; a failed correctness check stops make (exit status 1).
## LOADFLAGS go to both runs and override the scenario's values, e.g.
## make load LOADFLAGS='-duration 3s'; LOADSCENARIOS picks the scenarios, e.g.
## make load LOADSCENARIOS=default LOADFLAGS='-sessions 100000 -rate 100'.
## Beside the bench/baseline designs, a winner per row:
## go run ./bench/loadgen -compare [-scenario realistic].
LOADFLAGS ?=
LOADSCENARIOS ?= default realistic
load:
	@set -e; for s in $(LOADSCENARIOS); do \
		echo "== make load: -scenario $$s"; \
		$(GO) run ./bench/loadgen -scenario $$s $(LOADFLAGS); \
	done

## bench: the benchmarks, 6 runs each at -cpu 1 and 2, then benchstat tables
## comparing lastevent with the floor and the bench/baseline implementations in
## the same run (docs/benchmarks.md explains them). Takes about half an hour.
BENCHSTAT ?= $(GO) run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da
BENCHOUT  ?= bench/out/bench.txt
bench:
	@mkdir -p $(dir $(BENCHOUT))
	$(GO) test -run '^$$' -bench . -benchmem -cpu 1,2 -count 6 ./bench | tee $(BENCHOUT)
	$(BENCHSTAT) -filter '.name:Observe' -col /impl $(BENCHOUT)
	$(BENCHSTAT) -filter '.name:ObserveVsFloor' $(BENCHOUT)
	$(BENCHSTAT) -filter '.name:BytesPerSession' $(BENCHOUT)
	@echo '## lastevent beside the baselines (bench/baseline) and the floor, per case, mode, sessions, window and GOMAXPROCS'
	$(BENCHSTAT) -filter '.name:Compare' -col /impl $(BENCHOUT)
	@echo '## scaling: -cpu 1 vs -cpu 2 per implementation, beside the pure-CPU control (MachineParallelism)'
	$(BENCHSTAT) -filter '(.name:Compare -/mode:serial) OR .name:MachineParallelism' -col /gomaxprocs -row .name,/impl,/case,/mode,/sessions,/window $(BENCHOUT)
	@echo '## the small-relay scenario, unpaced: writes/accepted (and its bound), goroutines/event, B/session'
	$(BENCHSTAT) -filter '.name:Scenario' -col /impl $(BENCHOUT)
	@echo '## Flush throughput and Store latency per backend (bench/flush_bench_test.go)'
	$(BENCHSTAT) -filter '.name:Flush' -col /backend $(BENCHOUT)
	$(BENCHSTAT) -filter '.name:FlushInterleaved' $(BENCHOUT)
