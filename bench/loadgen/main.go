// Command loadgen drives a lastevent Tracker the way a Server-Sent-Events
// relay does, checks that every answer and every stored checkpoint is
// right, and prints a table of what it measured against our targets, with
// PASS/FAIL.
//
//	go run ./bench/loadgen                      # default: 100 sessions x 10 events/s for 10s
//	go run ./bench/loadgen -scenario realistic  # 10,000 bursty sessions, 5-20ms backend calls, 20s
//	go run ./bench/loadgen -json -duration 3s   # one JSON object on stdout
//	go run ./bench/loadgen -sessions 100000 -rate 100 -duration 5s
//	go run ./bench/loadgen -compare             # lastevent beside the two baselines, a winner per row
//	go run ./bench/loadgen -compare -scenario realistic
//	go run ./bench/loadgen -fault-rate 0.2 -outage 2s -latency 5ms
//	tools/dynalite/run.sh go run ./bench/loadgen -backend dynamodb -dynamodb-mode batch
//	tools/redis/run.sh go run ./bench/loadgen -backend redis   # -redis-addr, default $LASTEVENT_REDIS_ADDR
//
// -scenario picks the starting values of the other flags (preset.go); a
// flag given explicitly overrides its scenario's value, and the header line
// of the output names the scenario and the flags that changed it.
//
//   - default: a small relay. 100 sessions each receive 10 events/s,
//     steadily, for 10 s, 10% of them replays; the store answers at once.
//     It measures the per-event cost and the correctness checks.
//   - realistic: a relay at scale in front of a cloud key-value store.
//     10,000 sessions each send bursts of 5 events 20 ms apart, a burst
//     every 5 s (1 event/s on average, -burst, -burst-spacing); every
//     backend call waits a delay drawn from a log-normal distribution with
//     90% of calls between 5 and 20 ms (-store-latency, latency.go); 20 s,
//     -close-timeout 10 s. It shows what waiting on I/O does to each design.
//
// -backend dynamodb writes to a DynamoDB table (-table, created if missing;
// -endpoint, default $LASTEVENT_DYNAMODB_ENDPOINT, e.g. dynalite) in
// -dynamodb-mode conditional or batch, reads every checkpoint back to verify
// it, and adds a "store:" line (and JSON fields) with the calls by operation,
// throttles, errors and write latency p50/p99 (backend.go).
//
// -backend redis writes to the Redis server at -redis-addr (default
// $LASTEVENT_REDIS_ADDR) under -redis-prefix, deleting the run's sessions'
// keys first, reads every checkpoint back to verify it, and its "store:"
// line (and JSON fields) adds the commands by name, the round trips,
// requests per checkpoint and round trips per flush (redis.go).
//
// -fault-rate F, -outage DURATION and -latency DURATION put backends/fault
// between the tracker and the store: a share F of checkpoints fail
// retryable, every call fails for DURATION from the middle of the run, and
// each Store call waits the added latency. The checks are unchanged (no
// checkpoint may be lost or regress); a "faults:" line (and JSON fields)
// counts what was injected (fault.go).
//
// -compare runs the same scenario on lastevent, then on the baselines of
// bench/baseline (taskperevent: one goroutine spawned per event, errors
// dropped, two locks per event, a linear scan of recent IDs; mutexmap: one
// mutex-guarded map written whole every -flush-interval while holding the
// mutex, no dedup), and prints the table with one column per
// implementation and a last column naming the winner of each row, "tie"
// when the best values are within noise, or "—" (winner.go has the rules).
// Its exit status follows lastevent's checks. It prints its total time.
//
// The load: -sessions sessions each receive -rate events per second on
// average for -duration, of which a -dup-ratio share replay one of the
// session's last -window event IDs (and must be reported duplicates). Event
// IDs are the decimal numbers 1, 2, 3, ... per session. Events go through
// shard.Tracker (-window, -shards, -flush-interval) to the store, wrapped in
// a checker that counts checkpoint regressions.
//
// The load is open-loop: a fixed pool of -workers goroutines (GOMAXPROCS by
// default), each owning a disjoint subset of the sessions, emits on a ticker
// the events due by the elapsed time (schedule.go: steady round-robin, or
// each session's bursts). No goroutine is started per event or per session.
// A worker more than 50ms behind its schedule skips the overdue events and
// counts them as dropped, so a machine that cannot keep up is reported as
// NOT KEEPING UP (achieved vs requested rate) instead of building an
// unbounded backlog.
//
// Every run is bounded: -close-timeout after the measured window, the last
// Observes and Close must be done. If they are not (a design blocked on its
// store), every backend call is cut short, what was blocked returns, and the
// report says the run was cut off and what Close could not store
// (cutoff.go, scenario.go).
//
// While it runs, a progress line per second goes to stderr. At the end the
// Tracker is closed and every session's stored checkpoint is compared with
// the last event the tracker accepted for it. The table reports:
//
//   - goroutines created per second during the run
//     (runtime/metrics /sched/goroutines-created:goroutines; the load
//     generator's own goroutines start before the window), target < 10/s;
//   - bytes per session: live-heap growth from before the first session to
//     the end of the run, tracker alive, divided by sessions; target < 5 KB;
//   - backend writes per accepted event (coalescing) against the bound
//     1/(accepted rate per session x flush interval);
//   - persistence success: sessions whose stored checkpoint is their last
//     accepted event with Seq equal to their accepted count, target > 99.9%;
//   - Observe latency p50/p99 (sampled at high rates), target p99 < 10ms;
//   - correctness: dedup errors, Observe errors, sessions lost, checkpoint
//     regressions, Close errors.
//
// Only correctness failures change the exit status (1); performance rows
// can show FAIL on a slow or busy machine and still exit 0. Bad flags exit 2.
// Run with -h for every flag.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
)

func main() {
	os.Exit(realMain(os.Args[1:]))
}

// realMain runs the tool and returns its exit status.
func realMain(args []string) int {
	cfg, err := parseFlags(args, os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case err != nil:
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		return 2
	}
	// Ctrl-C ends the run early; the report covers what ran.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	if cfg.Compare {
		return compareMain(ctx, cfg, os.Stdout, os.Stderr)
	}
	r, err := run(ctx, cfg, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		return 2
	}
	if cfg.JSON {
		if err := r.writeJSON(os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			return 2
		}
	} else {
		r.writeTable(os.Stdout)
	}
	if !r.CorrectnessOK {
		return 1
	}
	return 0
}
