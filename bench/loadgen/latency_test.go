package main

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/lastevent/lastevent/backends/memory"
	"github.com/lastevent/lastevent/core"
)

// Every draw of the realistic scenario's latency lies in the clamp
// [2.5ms, 80ms]; the draws differ; about 90% fall in 5-20ms, the median is
// near 10ms, and a tail above 20ms exists but is rare.
func TestLatencyDrawsStayInRange(t *testing.T) {
	l := latencyRange{P5: 5 * time.Millisecond, P95: 20 * time.Millisecond}
	lo, hi := l.bounds()
	if lo != 2500*time.Microsecond || hi != 80*time.Millisecond {
		t.Fatalf("bounds: got [%v, %v], want [2.5ms, 80ms]", lo, hi)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 100_000
	draws := make([]time.Duration, n)
	inRange, above := 0, 0
	for i := range draws {
		d := l.draw(rng)
		if d < lo || d > hi {
			t.Fatalf("draw %d: %v, outside [%v, %v]", i, d, lo, hi)
		}
		if d >= l.P5 && d <= l.P95 {
			inRange++
		}
		if d > l.P95 {
			above++
		}
		draws[i] = d
	}
	slices.Sort(draws)
	if draws[0] == draws[n-1] {
		t.Fatalf("every draw is %v: want a distribution", draws[0])
	}
	if share := float64(inRange) / n; share < 0.88 || share > 0.92 {
		t.Errorf("draws within %v-%v: got %.1f%%, want about 90%%", l.P5, l.P95, 100*share)
	}
	if share := float64(above) / n; share < 0.04 || share > 0.06 {
		t.Errorf("draws above %v (the tail): got %.1f%%, want about 5%%", l.P95, 100*share)
	}
	if med, want := draws[n/2], l.median(); med < want*95/100 || med > want*105/100 {
		t.Errorf("median: got %v, want about %v", med, want)
	}
	if p99 := draws[n*99/100]; p99 < 24*time.Millisecond || p99 > 30*time.Millisecond {
		t.Errorf("p99: got %v, want about 27ms", p99)
	}
	// A degenerate range is a fixed latency.
	fixed := latencyRange{P5: 3 * time.Millisecond, P95: 3 * time.Millisecond}
	for range 100 {
		if d := fixed.draw(rng); d != 3*time.Millisecond {
			t.Fatalf("3ms-3ms draw: got %v, want 3ms", d)
		}
	}
}

func TestLatencyRangeFlag(t *testing.T) {
	var l latencyRange
	if err := l.Set("5ms-20ms"); err != nil || l != (latencyRange{5 * time.Millisecond, 20 * time.Millisecond}) {
		t.Fatalf("Set(5ms-20ms): got %+v, %v", l, err)
	}
	if got := l.String(); got != "5ms-20ms" {
		t.Errorf("String: got %q, want 5ms-20ms", got)
	}
	if err := l.Set(""); err != nil || l.enabled() {
		t.Errorf("Set(\"\"): got %+v, %v, want none", l, err)
	}
	for _, bad := range []string{"5ms", "20ms-5ms", "0s-1ms", "-1ms-2ms", "a-b", "5ms-"} {
		if err := l.Set(bad); err == nil {
			t.Errorf("Set(%q): got nil error", bad)
		}
	}
}

// The latency backend waits its draw before a call reaches the store, and a
// context that ends first fails the call at once, retryable, with the
// context's cause, and nothing reaches the store.
func TestLatencyBackendWaitsAndHonoursContext(t *testing.T) {
	mem := memory.New()
	l := latencyRange{P5: 20 * time.Millisecond, P95: 40 * time.Millisecond}
	b := newLatencyBackend(mem, l, 1)
	cp := []core.Checkpoint{{Session: "s", EventID: "1", Seq: 1}}
	res := make([]core.Result, 1)
	start := time.Now()
	b.Store(context.Background(), cp, res)
	if took, lo := time.Since(start), 10*time.Millisecond; took < lo || res[0].Outcome != core.OutcomeWritten {
		t.Fatalf("Store: took %v (want >= %v), outcome %v", took, lo, res[0].Outcome)
	}

	cause := errors.New("stop now")
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(cause)
	start = time.Now()
	b.Store(ctx, []core.Checkpoint{{Session: "s", EventID: "2", Seq: 2}}, res)
	if took := time.Since(start); took > 5*time.Millisecond {
		t.Errorf("Store with an ended context: took %v, want at once", took)
	}
	if res[0].Outcome != core.OutcomeFailed || !errors.Is(res[0].Err, core.ErrRetryable) || !errors.Is(res[0].Err, cause) {
		t.Errorf("Store with an ended context: got %+v, want failed, retryable, wrapping the cause", res[0])
	}
	if got, _ := mem.Get("s"); got.Seq != 1 {
		t.Errorf("stored after the cut call: got seq %d, want 1", got.Seq)
	}
	if _, err := b.Load(ctx, []string{"s"}); !errors.Is(err, cause) {
		t.Errorf("Load with an ended context: got %v, want the cause", err)
	}
	rep := b.report()
	if rep.DelayedCalls != 3 || rep.DelaysCutShort != 2 || rep.DelayMaxNS < int64(10*time.Millisecond) || rep.DelayMaxNS > int64(160*time.Millisecond) {
		t.Errorf("report: got %+v, want 3 calls delayed, 2 cut short, max within [10ms, 160ms]", rep)
	}
}
