package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lastevent/lastevent/core"
	"github.com/lastevent/lastevent/internal/backoff"
)

// z95 is the standard normal's 95th percentile: a log-normal whose 5th and
// 95th percentiles are lo and hi has sigma ln(hi/lo) / (2 z95).
const z95 = 1.6448536269514722

// latencyRange is -store-latency: the delay every backend call waits, drawn
// per call from a log-normal distribution whose 5th and 95th percentiles are
// P5 and P95, so 90% of calls fall between them and the median is
// sqrt(P5 x P95). For 5ms-20ms: median 10 ms, p99 about 27 ms, p99.9 about
// 37 ms. Draws are clamped to [P5/2, 4 x P95] so that one unlucky draw cannot
// hold a run for seconds. A cloud key-value store's latency looks like this:
// skewed to the right, a body of a few milliseconds to a few tens, a rare
// slow call; a uniform draw would have no tail at all. The zero value delays
// nothing.
type latencyRange struct {
	P5, P95 time.Duration
}

func (l latencyRange) enabled() bool { return l.P95 > 0 }

// bounds returns the clamp of every draw.
func (l latencyRange) bounds() (lo, hi time.Duration) { return l.P5 / 2, 4 * l.P95 }

// median returns the distribution's median, sqrt(P5 x P95).
func (l latencyRange) median() time.Duration {
	return time.Duration(math.Sqrt(float64(l.P5) * float64(l.P95)))
}

// draw returns one delay.
func (l latencyRange) draw(rng *rand.Rand) time.Duration {
	mu := (math.Log(float64(l.P5)) + math.Log(float64(l.P95))) / 2
	sigma := (math.Log(float64(l.P95)) - math.Log(float64(l.P5))) / (2 * z95)
	lo, hi := l.bounds()
	return min(max(time.Duration(math.Exp(mu+sigma*rng.NormFloat64())), lo), hi)
}

// String formats the range as -store-latency takes it: "5ms-20ms", or ""
// for none.
func (l *latencyRange) String() string {
	if l == nil || !l.enabled() {
		return ""
	}
	return l.P5.String() + "-" + l.P95.String()
}

// Set parses "LO-HI" (two durations, 0 < LO <= HI) or "" for none.
func (l *latencyRange) Set(s string) error {
	if s == "" {
		*l = latencyRange{}
		return nil
	}
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return fmt.Errorf("%q: want LO-HI, e.g. 5ms-20ms", s)
	}
	lo, err := time.ParseDuration(a)
	if err != nil {
		return fmt.Errorf("%q: LO: %w", s, err)
	}
	hi, err := time.ParseDuration(b)
	if err != nil {
		return fmt.Errorf("%q: HI: %w", s, err)
	}
	if lo <= 0 || hi < lo {
		return fmt.Errorf("%q: want 0 < LO <= HI", s)
	}
	*l = latencyRange{P5: lo, P95: hi}
	return nil
}

// latencyBackend delays every Store, Load and Delete by a draw of its
// latencyRange before passing it on. The wait is a select on a timer and
// the call's context: when the context ends first, the call fails
// retryable, wrapping the context's error, and nothing reaches the store.
// It is loadgen's own because backends/fault adds a fixed latency plus
// uniform jitter only, with no skew and no tail.
//
// Safe for concurrent use; the draws come from one seeded source under a
// mutex, so a run's sequence of delays is repeatable (their assignment to
// calls depends on scheduling).
type latencyBackend struct {
	next core.Backend
	dist latencyRange

	mu     sync.Mutex // guards rng and drawn
	rng    *rand.Rand
	drawn  histogram // every delay drawn
	cutOff atomic.Uint64
}

func newLatencyBackend(next core.Backend, dist latencyRange, seed uint64) *latencyBackend {
	return &latencyBackend{next: next, dist: dist, rng: rand.New(rand.NewPCG(seed, 0x6c6174656e6379))}
}

// wait sleeps one drawn delay, or until ctx ends and returns its error.
func (b *latencyBackend) wait(ctx context.Context) error {
	b.mu.Lock()
	d := b.dist.draw(b.rng)
	b.drawn.record(d)
	b.mu.Unlock()
	if backoff.Wait(ctx, d, nil) != nil {
		b.cutOff.Add(1)
		return context.Cause(ctx)
	}
	return nil
}

func (b *latencyBackend) Store(ctx context.Context, batch []core.Checkpoint, results []core.Result) {
	if err := b.wait(ctx); err != nil {
		for i, cp := range batch {
			results[i] = core.Result{Outcome: core.OutcomeFailed,
				Err: fmt.Errorf("%w: loadgen: store latency: session %q seq %d: %w", core.ErrRetryable, cp.Session, cp.Seq, err)}
		}
		return
	}
	b.next.Store(ctx, batch, results)
}

func (b *latencyBackend) Load(ctx context.Context, sessions []string) (map[string]core.Checkpoint, error) {
	if err := b.wait(ctx); err != nil {
		return nil, fmt.Errorf("%w: loadgen: store latency: %w", core.ErrRetryable, err)
	}
	return b.next.Load(ctx, sessions)
}

func (b *latencyBackend) Delete(ctx context.Context, session string) error {
	if err := b.wait(ctx); err != nil {
		return fmt.Errorf("%w: loadgen: store latency: session %q: %w", core.ErrRetryable, session, err)
	}
	return b.next.Delete(ctx, session)
}

var _ core.Backend = (*latencyBackend)(nil)

// latencyReport is -store-latency's part of the report; its fields are part
// of the JSON object.
type latencyReport struct {
	StoreLatencyP5MS  float64 `json:"store_latency_p5_ms,omitempty"`
	StoreLatencyP95MS float64 `json:"store_latency_p95_ms,omitempty"`
	DelayedCalls      uint64  `json:"delayed_calls,omitempty"` // backend calls that drew a delay
	DelayP50NS        int64   `json:"delay_p50_ns,omitempty"`
	DelayP99NS        int64   `json:"delay_p99_ns,omitempty"`
	DelayMaxNS        int64   `json:"delay_max_ns,omitempty"`
	DelaysCutShort    uint64  `json:"delays_cut_short,omitempty"` // calls whose context ended first
}

// wrapLatency returns next behind the -store-latency delays, or next itself
// (and nil) when there are none.
func wrapLatency(next core.Backend, cfg config) (core.Backend, *latencyBackend) {
	if !cfg.StoreLatency.enabled() {
		return next, nil
	}
	lb := newLatencyBackend(next, cfg.StoreLatency, cfg.Seed)
	return lb, lb
}

func (b *latencyBackend) report() latencyReport {
	if b == nil {
		return latencyReport{}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return latencyReport{
		StoreLatencyP5MS:  float64(b.dist.P5) / float64(time.Millisecond),
		StoreLatencyP95MS: float64(b.dist.P95) / float64(time.Millisecond),
		DelayedCalls:      b.drawn.n,
		DelayP50NS:        int64(b.drawn.quantile(0.50)),
		DelayP99NS:        int64(b.drawn.quantile(0.99)),
		DelayMaxNS:        int64(b.drawn.max),
		DelaysCutShort:    b.cutOff.Load(),
	}
}

// writeLine prints the delays' line under the table, if any were asked for.
func (r *latencyReport) writeLine(w io.Writer) {
	if r.StoreLatencyP95MS == 0 {
		return
	}
	ms := func(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }
	fmt.Fprintf(w, "store latency: log-normal, 90%% of calls %v-%v: %s backend calls delayed, drawn p50 %v, p99 %v, max %v; %s ended early by their context\n",
		ms(r.StoreLatencyP5MS), ms(r.StoreLatencyP95MS), group(r.DelayedCalls),
		time.Duration(r.DelayP50NS).Round(time.Microsecond), time.Duration(r.DelayP99NS).Round(time.Microsecond),
		time.Duration(r.DelayMaxNS).Round(time.Microsecond), group(r.DelaysCutShort))
}
