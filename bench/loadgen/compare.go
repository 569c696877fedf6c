package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/lastevent/lastevent/bench/baseline/mutexmap"
	"github.com/lastevent/lastevent/bench/baseline/reviewed"
	"github.com/lastevent/lastevent/core"
	"github.com/lastevent/lastevent/shard"
)

// Implementations a scenario can drive (config.Impl). -compare runs them all.
const (
	implLastevent = "lastevent" // shard.Tracker
	implReviewed  = "reviewed"  // bench/baseline/reviewed: the design the review found
	implMutexmap  = "mutexmap"  // bench/baseline/mutexmap: one mutex, a map, a ticker
)

var compareImpls = []string{implLastevent, implReviewed, implMutexmap}

// system is what a scenario drives and closes: a shard.Tracker or one of the
// baselines.
type system interface {
	observer
	Sessions() int
	Close(ctx context.Context) error
}

// startSystem starts cfg.Impl on backend. lastevent takes sc; the baselines
// take the same window and flush interval where they have one (reviewed
// writes per event; mutexmap writes every entry every FlushInterval).
func startSystem(cfg config, backend core.Backend, sc shard.Config) (system, error) {
	switch cfg.Impl {
	case "", implLastevent:
		return shard.New(backend, sc)
	case implReviewed:
		return reviewed.New(backend, cfg.Window), nil
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
// same scenario, run one after the other.
type comparison struct {
	Impls   []string           `json:"impls"`
	Reports map[string]*report `json:"reports"`
}

// runCompare runs cfg's scenario on every implementation in turn and
// returns their reports. Progress goes to logw.
func runCompare(ctx context.Context, cfg config, logw io.Writer) (*comparison, error) {
	c := &comparison{Impls: compareImpls, Reports: make(map[string]*report, len(compareImpls))}
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
	return c, nil
}

// ok reports the exit verdict: lastevent's correctness. The baselines are
// expected to fail checks (mutexmap does not deduplicate); that is what the
// comparison shows, not an error of the run.
func (c *comparison) ok() bool { return c.Reports[implLastevent].CorrectnessOK }

// writeTable prints the scenario once, then the review's table with one
// measured column per implementation (PASS/FAIL against the review's
// target) and the target.
func (c *comparison) writeTable(w io.Writer) {
	first := c.Reports[c.Impls[0]]
	first.writeScenario(w)
	fmt.Fprintln(w, "Current Performance Profile, side by side")
	header := append(append([]string{"Metric"}, c.Impls...), "Target (review)")
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
		rows = append(rows, append(row, chk.Target))
	}
	extra := func(metric string, f func(*report) string) {
		row := []string{metric}
		for _, impl := range c.Impls {
			row = append(row, f(c.Reports[impl]))
		}
		rows = append(rows, append(row, ""))
	}
	extra("Backend Store calls", func(r *report) string { return group(r.StoreCalls) })
	extra("Stale writes (refused, older Seq)", func(r *report) string { return group(r.BackendStale) })
	extra("Goroutines created", func(r *report) string { return group(r.GoroutinesCreated) })
	writeMarkdownTable(w, rows)
	fmt.Fprintln(w, "Baselines (bench/baseline): reviewed = the reviewed design (one goroutine per event, locked slices);")
	fmt.Fprintln(w, "mutexmap = one mutex-guarded map written whole every flush interval, no dedup (its dedup errors are expected).")
	fmt.Fprintln(w, "The exit status follows lastevent's correctness checks only.")
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
