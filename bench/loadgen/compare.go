package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/lastevent/lastevent/bench/baseline/mutexmap"
	"github.com/lastevent/lastevent/bench/baseline/taskperevent"
	"github.com/lastevent/lastevent/core"
	"github.com/lastevent/lastevent/shard"
)

// Implementations a scenario can drive (config.Impl). -compare runs them all.
const (
	implLastevent    = "lastevent"    // shard.Tracker
	implTaskPerEvent = "taskperevent" // bench/baseline/taskperevent: a goroutine per event, locked slices
	implMutexmap     = "mutexmap"     // bench/baseline/mutexmap: one mutex, a map, a ticker
)

var compareImpls = []string{implLastevent, implTaskPerEvent, implMutexmap}

// The rows -compare adds under the checks' rows.
const (
	metricStoreCalls = "Backend Store calls"
	metricStale      = "Stale writes (refused, older Seq)"
	metricGoroutines = "Goroutines created"
)

// system is what a scenario drives and closes: a shard.Tracker or one of the
// baselines.
type system interface {
	observer
	Sessions() int
	Close(ctx context.Context) error
}

// startSystem starts cfg.Impl on backend. lastevent takes sc; the baselines
// take the same window and flush interval where they have one (taskperevent
// writes per event; mutexmap writes every entry every FlushInterval).
func startSystem(cfg config, backend core.Backend, sc shard.Config) (system, error) {
	switch cfg.Impl {
	case "", implLastevent:
		return shard.New(backend, sc)
	case implTaskPerEvent:
		return taskperevent.New(backend, cfg.Window), nil
	case implMutexmap:
		return mutexmap.New(backend, cfg.FlushInterval), nil
	}
	return nil, fmt.Errorf("unknown implementation %q", cfg.Impl)
}

// shardsOf returns the shard count of a Tracker, 0 for a baseline.
func shardsOf(s system) int {
	if t, ok := s.(interface{ Shards() int }); ok {
		return t.Shards()
	}
	return 0
}

// comparison is the outcome of -compare: one report per implementation,
// same scenario, run one after the other, and the winner of each row.
type comparison struct {
	Impls    []string           `json:"impls"`
	Reports  map[string]*report `json:"reports"`
	Winners  map[string]string  `json:"winners"`   // by metric: an implementation, "tie" or "—" (winner.go)
	ElapsedS float64            `json:"elapsed_s"` // the whole comparison, wall clock
	BoundS   float64            `json:"bound_s"`   // what the runs' deadlines allow, setup and verification aside
}

// runCompare runs cfg's scenario on every implementation in turn and
// returns their reports. Progress goes to logw. Each run ends by its
// deadline (drive), so the comparison takes at most about
// len(compareImpls) x (-duration + -close-timeout), plus setup and
// verification.
func runCompare(ctx context.Context, cfg config, logw io.Writer) (*comparison, error) {
	c := &comparison{Impls: compareImpls, Reports: make(map[string]*report, len(compareImpls)),
		BoundS: float64(len(compareImpls)) * (cfg.Duration + cfg.CloseTimeout).Seconds()}
	start := time.Now()
	fmt.Fprintf(logw, "compare: %d implementations one after the other, each run at most -duration %v + -close-timeout %v\n",
		len(compareImpls), cfg.Duration, cfg.CloseTimeout)
	for _, impl := range compareImpls {
		fmt.Fprintf(logw, "--- %s\n", impl)
		one := cfg
		one.Impl = impl
		r, err := run(ctx, one, logw)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", impl, err)
		}
		c.Reports[impl] = r
	}
	c.ElapsedS = time.Since(start).Seconds()
	c.judge()
	return c, nil
}

// judge fills Winners.
func (c *comparison) judge() {
	c.Winners = map[string]string{}
	for _, m := range c.metrics() {
		c.Winners[m] = winnerOf(m, c.Impls, c.Reports)
	}
}

// metrics returns the table's rows in order: the checks, then the extras.
func (c *comparison) metrics() []string {
	var ms []string
	for _, chk := range c.Reports[c.Impls[0]].Checks {
		ms = append(ms, chk.Metric)
	}
	return append(ms, metricStoreCalls, metricStale, metricGoroutines)
}

// ok reports the exit verdict: lastevent's correctness. The baselines are
// expected to fail checks (mutexmap does not deduplicate); that is what the
// comparison shows, not an error of the run.
func (c *comparison) ok() bool { return c.Reports[implLastevent].CorrectnessOK }

// writeTable prints the scenario once, then one measured column per
// implementation (PASS/FAIL against our target), the target, and the
// winner of each row.
func (c *comparison) writeTable(w io.Writer) {
	first := c.Reports[c.Impls[0]]
	first.writeScenario(w)
	fmt.Fprintln(w, "Side by side: the same scenario on each implementation, one run each")
	header := append(append([]string{"Metric"}, c.Impls...), "Target", "Winner")
	rows := [][]string{header}
	for i, chk := range first.Checks {
		row := []string{chk.Metric}
		for _, impl := range c.Impls {
			cc := c.Reports[impl].Checks[i]
			status := "PASS"
			if !cc.Pass {
				status = "FAIL"
			}
			row = append(row, cc.Measured+" "+status)
		}
		rows = append(rows, append(row, chk.Target, c.Winners[chk.Metric]))
	}
	extra := func(metric string, f func(*report) string) {
		row := []string{metric}
		for _, impl := range c.Impls {
			row = append(row, f(c.Reports[impl]))
		}
		rows = append(rows, append(row, "", c.Winners[metric]))
	}
	extra(metricStoreCalls, func(r *report) string { return group(r.StoreCalls) })
	extra(metricStale, func(r *report) string { return group(r.BackendStale) })
	extra(metricGoroutines, func(r *report) string { return group(r.GoroutinesCreated) })
	writeMarkdownTable(w, rows)
	fmt.Fprintln(w, "Baselines (bench/baseline): taskperevent = one goroutine spawned per event, persistence errors dropped,")
	fmt.Fprintln(w, "two locks per event, a linear scan of recent IDs; mutexmap = one mutex-guarded map written whole every")
	fmt.Fprintln(w, "flush interval while holding the mutex, no dedup (its dedup errors are expected).")
	fmt.Fprintln(w, "Winner: lower wins for goroutines, memory, writes, latency and calls, higher for throughput, PASS over FAIL")
	fmt.Fprintln(w, "for correctness (several PASS: tie); values within 10% of each other (throughput: 1 point) tie. Memory and")
	fmt.Fprintln(w, "latency count only implementations that kept up (events dropped during a stall are in no latency sample),")
	fmt.Fprintln(w, "writes/accepted only those passing every correctness check, Store calls and stale writes only those that")
	fmt.Fprintln(w, "stored every checkpoint; — = nothing to compare.")
	for _, impl := range c.Impls {
		if r := c.Reports[impl]; r.CutAtDeadline {
			fmt.Fprintf(w, "%s: cut off at its deadline (-close-timeout %gs after the measured window): %s\n", impl, r.CloseTimeoutS, r.CloseError)
		}
	}
	fmt.Fprintf(w, "The exit status follows lastevent's correctness checks only. Total time: %v for %d runs (bounded by about %v plus setup and checks).\n",
		time.Duration(c.ElapsedS*float64(time.Second)).Round(100*time.Millisecond), len(c.Impls),
		time.Duration(c.BoundS*float64(time.Second)).Round(time.Second))
}

// writeJSON prints the comparison as one indented JSON object.
func (c *comparison) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(c)
}

// compareMain is realMain for -compare: it prints the comparison and
// returns the exit status (0, 1 when lastevent fails a correctness check,
// 2 when a run could not start).
func compareMain(ctx context.Context, cfg config, stdout, stderr io.Writer) int {
	c, err := runCompare(ctx, cfg, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "loadgen:", err)
		return 2
	}
	if cfg.JSON {
		if err := c.writeJSON(stdout); err != nil {
			fmt.Fprintln(stderr, "loadgen:", err)
			return 2
		}
	} else {
		c.writeTable(stdout)
	}
	if !c.ok() {
		return 1
	}
	return 0
}
