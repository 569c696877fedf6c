package main

import (
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/lastevent/lastevent/core"
	"github.com/lastevent/lastevent/shard"
)

// config is one load scenario. The zero value is not usable: start from
// defaultConfig, which is the review's production scenario.
type config struct {
	Sessions      int           // concurrent sessions
	Rate          float64       // events per second per session, duplicates included
	Duration      time.Duration // length of the measured run
	DupRatio      float64       // share of events that replay a recent ID of their session
	Window        int           // shard.Config.Window
	Shards        int           // shard.Config.Shards; 0 = the tracker's default
	FlushInterval time.Duration // shard.Config.FlushInterval
	Workers       int           // generator goroutines; 0 = GOMAXPROCS
	Seed          uint64        // seeds the duplicate choices, so runs are repeatable
	CloseTimeout  time.Duration // bounds Tracker.Close at the end of the run
	JSON          bool          // print one JSON object instead of the table
	Backend       backendConfig // -backend, -endpoint, -table, -dynamodb-mode, -redis-addr, -redis-prefix (backend.go)
	Faults        faultConfig   // -fault-rate, -outage, -latency (fault.go)
	Tracker       trackerConfig // -max-sessions, -idle-ttl, -metrics-addr (tracker.go)
	Compare       bool          // run lastevent and both baselines, one column each (compare.go)
	Impl          string        // implementation to drive, set by -compare; "" = lastevent
}

// defaultConfig is the review's "Production Risk Assessment" scenario:
// 100 concurrent SSE sessions, 10 events/s each.
func defaultConfig() config {
	return config{
		Sessions:      100,
		Rate:          10,
		Duration:      10 * time.Second,
		DupRatio:      0.1,
		Window:        core.DefaultWindow,
		FlushInterval: shard.DefaultFlushInterval,
		Seed:          1,
		CloseTimeout:  30 * time.Second,
	}
}

// targetRate is the requested event rate of the whole run, events/s.
func (c config) targetRate() float64 { return float64(c.Sessions) * c.Rate }

func (c config) validate() error {
	switch {
	case c.Sessions < 1:
		return fmt.Errorf("-sessions %d: must be at least 1", c.Sessions)
	case !(c.Rate > 0):
		return fmt.Errorf("-rate %v: must be positive", c.Rate)
	case c.Duration <= 0:
		return fmt.Errorf("-duration %v: must be positive", c.Duration)
	case !(c.DupRatio >= 0 && c.DupRatio <= 1):
		return fmt.Errorf("-dup-ratio %v: must be between 0 and 1", c.DupRatio)
	case core.ValidateWindow(c.Window) != nil:
		return fmt.Errorf("-window %d: must be a power of two between 1 and %d", c.Window, core.MaxWindow)
	case c.Shards < 0:
		return fmt.Errorf("-shards %d: must not be negative", c.Shards)
	case c.FlushInterval < time.Millisecond:
		return fmt.Errorf("-flush-interval %v: must be at least 1ms", c.FlushInterval)
	case c.Workers < 0:
		return fmt.Errorf("-workers %d: must not be negative", c.Workers)
	case c.CloseTimeout <= 0:
		return fmt.Errorf("-close-timeout %v: must be positive", c.CloseTimeout)
	}
	if err := c.Faults.validate(); err != nil {
		return err
	}
	if err := c.Tracker.validate(); err != nil {
		return err
	}
	return c.Backend.validate()
}

const usageText = `Usage: go run ./bench/loadgen [flags]

Replays the architecture review's production scenario (100 sessions x 10
events/s, 10%% replayed duplicates) against the memory backend (or a
DynamoDB table with -backend dynamodb, or Redis with -backend redis) through
shard.Tracker, prints a progress line per second on stderr, and ends with the
review's "Current Performance Profile" table: measured value, the review's
target, PASS/FAIL.

Exit status:
  0  every correctness check is clean: no dedup errors, no Observe errors,
     no sessions lost, no checkpoint regressions, Close succeeded.
     Performance rows (goroutines/s, bytes/session, coalescing, latency,
     throughput) may still show FAIL: they are reported, not enforced,
     because they depend on the machine.
  1  a correctness check failed (the table says which).
  2  bad flags or the tracker could not start.

Flags:
`

// parseFlags parses args (without the program name) over defaultConfig.
// It returns flag.ErrHelp for -h.
func parseFlags(args []string, output io.Writer) (config, error) {
	cfg := defaultConfig()
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(output)
	fs.IntVar(&cfg.Sessions, "sessions", cfg.Sessions, "concurrent sessions")
	fs.Float64Var(&cfg.Rate, "rate", cfg.Rate, "events per second per session, duplicates included")
	fs.DurationVar(&cfg.Duration, "duration", cfg.Duration, "length of the measured run")
	fs.Float64Var(&cfg.DupRatio, "dup-ratio", cfg.DupRatio, "share of events that replay one of the session's last -window IDs (0 to 1)")
	fs.IntVar(&cfg.Window, "window", cfg.Window, "dedup window per session (power of two)")
	fs.IntVar(&cfg.Shards, "shards", cfg.Shards, "tracker shards (power of two); 0 = the tracker's default")
	fs.DurationVar(&cfg.FlushInterval, "flush-interval", cfg.FlushInterval, "tracker flush interval")
	fs.IntVar(&cfg.Workers, "workers", cfg.Workers, "generator goroutines; 0 = GOMAXPROCS")
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "seed of the duplicate choices")
	fs.DurationVar(&cfg.CloseTimeout, "close-timeout", cfg.CloseTimeout, "bound on the final Tracker.Close")
	fs.BoolVar(&cfg.JSON, "json", cfg.JSON, "print one JSON object on stdout instead of the table (progress stays on stderr)")
	cfg.Backend.addFlags(fs)
	cfg.Faults.addFlags(fs)
	cfg.Tracker.addFlags(fs)
	fs.BoolVar(&cfg.Compare, "compare", cfg.Compare, "run the scenario on lastevent and the bench/baseline implementations (reviewed, mutexmap), one column each")
	fs.Usage = func() {
		fmt.Fprintf(output, usageText)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err := cfg.validate(); err != nil {
		return cfg, err
	}
	return cfg, nil
}
