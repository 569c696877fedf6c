package fault

import (
	"fmt"
	"time"
)

// Config says which faults a Backend injects. The zero value injects none:
// every call passes through unchanged. Rates are probabilities from 0 to 1,
// drawn independently from the Backend's seeded random source.
type Config struct {
	// Seed seeds the random source. Two Backends built with the same Seed
	// and Config that receive the same sequence of calls (and see the same
	// clock) inject the same faults. Default 0, itself a valid seed.
	Seed uint64

	// ErrorRate is the probability that one Store item fails without
	// reaching the next backend. Default 0.
	ErrorRate float64
	// PermanentShare is the share of the failures drawn by ErrorRate,
	// LoadErrorRate and DeleteErrorRate that wrap core.ErrPermanent; the
	// others wrap core.ErrRetryable. Default 0: all retryable.
	PermanentShare float64
	// ThrottleRate is the probability that a whole Store call is throttled:
	// every item fails retryable, wrapping ErrThrottled, and nothing reaches
	// the next backend. Default 0.
	ThrottleRate float64
	// PartialRate is the probability that a Store call of two or more items
	// stops part-way, as a batch API reporting unprocessed items does: a
	// random non-empty tail of the batch fails retryable, wrapping
	// ErrUnprocessed, while the items before it go on (and may still fail by
	// ErrorRate). Default 0.
	PartialRate float64
	// LostReplyRate is the probability that an item the next backend stored
	// is reported failed (retryable, wrapping ErrReplyLost) anyway: the write
	// landed but its reply did not, as with a timeout after commit. The
	// retry then finds an equal Seq stored and is reported stale. Default 0.
	LostReplyRate float64
	// Latency is added to every Store call not refused by an outage; Jitter
	// adds a further uniform random duration in [0, Jitter). The wait is a
	// select on a timer and ctx: when ctx ends first, every item fails
	// retryable wrapping ctx.Err(). Default 0.
	Latency, Jitter time.Duration

	// LoadErrorRate is the probability that a Load call fails as a whole.
	// Default 0.
	LoadErrorRate float64
	// LoadLatency and LoadJitter are Latency and Jitter for Load. Default 0.
	LoadLatency, LoadJitter time.Duration

	// DeleteErrorRate is the probability that a Delete call fails without
	// reaching the next backend. Default 0.
	DeleteErrorRate float64

	// OutageAfter and OutageFor schedule one outage: it starts OutageAfter
	// after New (or Set) and lasts OutageFor. While it lasts every Store,
	// Load and Delete fails at once, retryable, wrapping ErrOutage, and
	// nothing reaches the next backend. OutageFor 0 (default) schedules none.
	OutageAfter, OutageFor time.Duration

	// Now is the clock outages are timed by, so a test can move time
	// without sleeping. It must be safe for concurrent use. Default
	// time.Now. Latency always waits on real timers.
	Now func() time.Time
}

// Validate reports the first field out of range, naming it and its value.
// New panics and Set fails on a Config that does not validate.
func (c Config) Validate() error {
	rates := []struct {
		name string
		v    float64
	}{
		{"ErrorRate", c.ErrorRate}, {"PermanentShare", c.PermanentShare},
		{"ThrottleRate", c.ThrottleRate}, {"PartialRate", c.PartialRate},
		{"LostReplyRate", c.LostReplyRate}, {"LoadErrorRate", c.LoadErrorRate},
		{"DeleteErrorRate", c.DeleteErrorRate},
	}
	for _, r := range rates {
		if !(r.v >= 0 && r.v <= 1) { // also rejects NaN
			return fmt.Errorf("fault: Config.%s %v: must be between 0 and 1", r.name, r.v)
		}
	}
	durations := []struct {
		name string
		v    time.Duration
	}{
		{"Latency", c.Latency}, {"Jitter", c.Jitter},
		{"LoadLatency", c.LoadLatency}, {"LoadJitter", c.LoadJitter},
		{"OutageAfter", c.OutageAfter}, {"OutageFor", c.OutageFor},
	}
	for _, d := range durations {
		if d.v < 0 {
			return fmt.Errorf("fault: Config.%s %v: must not be negative", d.name, d.v)
		}
	}
	return nil
}
