package main

import (
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/lastevent/lastevent/core"
	"github.com/lastevent/lastevent/shard"
)

// config is one load scenario. The zero value is not usable: start from
// defaultConfig, the default scenario, and apply a preset (preset.go).
type config struct {
	Scenario      string        // -scenario: the preset the flags start from (preset.go)
	Sessions      int           // concurrent sessions
	Rate          float64       // mean events per second per session, duplicates included
	Burst         int           // events per burst; 1 = steady, evenly spaced events (schedule.go)
	BurstSpacing  time.Duration // time between two events of one burst
	Duration      time.Duration // length of the measured run
	DupRatio      float64       // share of events that replay a recent ID of their session
	Window        int           // shard.Config.Window
	Shards        int           // shard.Config.Shards; 0 = the tracker's default
	FlushInterval time.Duration // shard.Config.FlushInterval
	Workers       int           // generator goroutines; 0 = GOMAXPROCS
	Seed          uint64        // seeds the duplicate choices, burst phases and latency draws, so runs are repeatable
	CloseTimeout  time.Duration // bounds the end of the run: last Observes and Close (scenario.go)
	JSON          bool          // print one JSON object instead of the table
	StoreLatency  latencyRange  // -store-latency: a delay drawn per backend call (latency.go)
	Backend       backendConfig // -backend, -endpoint, -table, -dynamodb-mode, -redis-addr, -redis-prefix (backend.go)
	Faults        faultConfig   // -fault-rate, -outage, -latency (fault.go)
	Tracker       trackerConfig // -max-sessions, -idle-ttl, -metrics-addr (tracker.go)
	Compare       bool          // run lastevent and both baselines, one column each (compare.go)
	Impl          string        // implementation to drive, set by -compare; "" = lastevent
	Overrides     string        // the flags given explicitly, as typed, for the report's header
}

// defaultConfig is the default scenario: a small relay, 100 concurrent SSE
// sessions receiving 10 events/s each, steadily, 10% of them replays, for
// 10 s, against a backend that answers at once.
func defaultConfig() config {
	return config{
		Scenario:      scenarioDefault,
		Sessions:      100,
		Rate:          10,
		Burst:         1,
		BurstSpacing:  20 * time.Millisecond,
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

// burstPeriod is how often a session starts a burst: burst events at the
// mean rate. Meaningless when Burst is 1.
func (c config) burstPeriod() time.Duration {
	return time.Duration(float64(c.Burst) / c.Rate * float64(time.Second))
}

func (c config) validate() error {
	switch {
	case c.Sessions < 1:
		return fmt.Errorf("-sessions %d: must be at least 1", c.Sessions)
	case !(c.Rate > 0):
		return fmt.Errorf("-rate %v: must be positive", c.Rate)
	case c.Burst < 1:
		return fmt.Errorf("-burst %d: must be at least 1", c.Burst)
	case c.Burst > 1 && c.BurstSpacing <= 0:
		return fmt.Errorf("-burst-spacing %v: must be positive", c.BurstSpacing)
	case c.Burst > 1 && time.Duration(c.Burst-1)*c.BurstSpacing >= c.burstPeriod():
		return fmt.Errorf("-burst %d -burst-spacing %v: a burst lasts %v, as long as the %v between bursts at -rate %g: lower -burst-spacing or -rate",
			c.Burst, c.BurstSpacing, time.Duration(c.Burst-1)*c.BurstSpacing, c.burstPeriod(), c.Rate)
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
	if _, ok := presets[c.Scenario]; !ok {
		return fmt.Errorf("-scenario %q: must be %s", c.Scenario, strings.Join(presetNames(), " or "))
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

Drives a lastevent shard.Tracker the way an SSE relay does: many sessions
receive event IDs, some of them replays of recent ones that must be reported
duplicates, and each session's newest checkpoint is persisted to the memory
backend (or a DynamoDB table with -backend dynamodb, or Redis with -backend
redis). It prints a progress line per second on stderr and ends with a
table: each metric as measured, our target, PASS/FAIL.

Scenarios (-scenario); a flag given explicitly overrides the scenario's value:
%s
-compare runs the scenario on lastevent and on the two designs of
bench/baseline (taskperevent: a goroutine per event; mutexmap: one
mutex-guarded map written whole every flush interval, no dedup), one column
each, and a last column naming who wins each row.

Exit status:
  0  every correctness check is clean: no dedup errors, no Observe errors,
     no sessions lost, no checkpoint regressions, Close succeeded.
     Performance rows (goroutines/s, bytes/session, coalescing, latency,
     throughput) may still show FAIL: they are reported, not enforced,
     because they depend on the machine.
  1  a correctness check failed (the table says which; with -compare,
     lastevent's checks only).
  2  bad flags or the tracker could not start.

Flags (the defaults shown are the default scenario's):
`

// parseFlags parses args (without the program name) over defaultConfig and
// the -scenario preset: a preset sets each of its flags that args do not
// set. It returns flag.ErrHelp for -h.
func parseFlags(args []string, output io.Writer) (config, error) {
	cfg := defaultConfig()
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(output)
	fs.StringVar(&cfg.Scenario, "scenario", cfg.Scenario, "starting point of every other flag: "+strings.Join(presetNames(), " or ")+" (see above)")
	fs.IntVar(&cfg.Sessions, "sessions", cfg.Sessions, "concurrent sessions")
	fs.Float64Var(&cfg.Rate, "rate", cfg.Rate, "mean events per second per session, duplicates included")
	fs.IntVar(&cfg.Burst, "burst", cfg.Burst, "events per burst: each session sends this many events -burst-spacing apart, then pauses so that its mean stays -rate; 1 = steady, evenly spaced events")
	fs.DurationVar(&cfg.BurstSpacing, "burst-spacing", cfg.BurstSpacing, "time between two events of one burst (with -burst > 1)")
	fs.DurationVar(&cfg.Duration, "duration", cfg.Duration, "length of the measured run")
	fs.Float64Var(&cfg.DupRatio, "dup-ratio", cfg.DupRatio, "share of events that replay one of the session's last -window IDs (0 to 1)")
	fs.IntVar(&cfg.Window, "window", cfg.Window, "dedup window per session (power of two)")
	fs.IntVar(&cfg.Shards, "shards", cfg.Shards, "tracker shards (power of two); 0 = the tracker's default")
	fs.DurationVar(&cfg.FlushInterval, "flush-interval", cfg.FlushInterval, "tracker flush interval")
	fs.IntVar(&cfg.Workers, "workers", cfg.Workers, "generator goroutines; 0 = GOMAXPROCS")
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "seed of the duplicate choices, burst phases and latency draws")
	fs.DurationVar(&cfg.CloseTimeout, "close-timeout", cfg.CloseTimeout, "bound on the end of the run, from the end of -duration: the last Observes and Close; at this deadline every backend call is cut short and the run reports what was not stored")
	fs.BoolVar(&cfg.JSON, "json", cfg.JSON, "print one JSON object on stdout instead of the table (progress stays on stderr)")
	fs.Var(&cfg.StoreLatency, "store-latency", "delay every backend call by a draw from a log-normal distribution with 90% of calls between LO and HI, e.g. 5ms-20ms (median sqrt(LO*HI), rest clamped to [LO/2, 4*HI]); empty = none; adds to -latency")
	cfg.Backend.addFlags(fs)
	cfg.Faults.addFlags(fs)
	cfg.Tracker.addFlags(fs)
	fs.BoolVar(&cfg.Compare, "compare", cfg.Compare, "run the scenario on lastevent and the bench/baseline implementations (taskperevent, mutexmap), one column each, and name the winner of each row")
	fs.Usage = func() {
		fmt.Fprintf(output, usageText, presetUsage())
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	given := map[string]bool{}
	var overrides []string
	fs.Visit(func(f *flag.Flag) {
		given[f.Name] = true
		switch f.Name {
		case "scenario", "compare", "json", "metrics-addr":
		default:
			overrides = append(overrides, "-"+f.Name+" "+f.Value.String())
		}
	})
	if err := applyPreset(fs, cfg.Scenario, given); err != nil {
		return cfg, err
	}
	slices.Sort(overrides)
	cfg.Overrides = strings.Join(overrides, " ")
	if err := cfg.validate(); err != nil {
		return cfg, err
	}
	return cfg, nil
}
