package main

import (
	"context"
	"io"
	"math/rand/v2"
	"testing"
	"time"
)

// With -burst, each session's events are spiky: burst events spacing apart,
// then a gap of period - (burst-1) x spacing, burst after burst, while the
// mean rate stays -rate. dueBy and at agree on every event.
func TestBurstScheduleIsSpiky(t *testing.T) {
	cfg := defaultConfig()
	cfg.Rate, cfg.Burst, cfg.BurstSpacing = 1, 5, 10*time.Millisecond
	const n, cycles = 7, 3
	s := newSchedule(n, cfg, rand.New(rand.NewPCG(1, 0)))
	period := cfg.burstPeriod()
	if period != 5*time.Second || len(s.slots) != n*cfg.Burst {
		t.Fatalf("schedule: period %v, %d slots; want 5s and %d", period, len(s.slots), n*cfg.Burst)
	}
	times := make([][]time.Duration, n)
	for k := range uint64(cycles * n * cfg.Burst) {
		at, sess := s.at(k), s.session(k)
		if k > 0 && at < s.at(k-1) {
			t.Fatalf("event %d due at %v, before event %d at %v", k, at, k-1, s.at(k-1))
		}
		if got := s.dueBy(at); got < k+1 {
			t.Fatalf("dueBy(at(%d) = %v): got %d, want >= %d", k, at, got, k+1)
		}
		if at > 0 {
			if got := s.dueBy(at - 1); got > k {
				t.Fatalf("dueBy(at(%d) - 1ns): got %d, want <= %d", k, got, k)
			}
		}
		times[sess] = append(times[sess], at)
	}
	gap := period - time.Duration(cfg.Burst-1)*cfg.BurstSpacing
	for sess, ts := range times {
		if len(ts) != cycles*cfg.Burst {
			t.Fatalf("session %d: %d events in %d cycles, want %d", sess, len(ts), cycles, cycles*cfg.Burst)
		}
		within, between := 0, 0
		for i := 1; i < len(ts); i++ {
			switch d := ts[i] - ts[i-1]; d {
			case cfg.BurstSpacing:
				within++
			case gap:
				between++
			default:
				t.Fatalf("session %d: events %d and %d are %v apart, want %v (in a burst) or %v (between bursts)",
					sess, i-1, i, d, cfg.BurstSpacing, gap)
			}
		}
		// 15 events: 14 gaps, of which 2 or 3 are pauses (3 when the
		// first cycle begins with the tail of a wrapped burst).
		if between < cycles-1 || between > cycles || within != len(ts)-1-between {
			t.Errorf("session %d: %d gaps of %v and %d of %v, want %d or %d pauses", sess, within, cfg.BurstSpacing, between, gap, cycles-1, cycles)
		}
	}
	// Over whole cycles the mean rate is -rate per session.
	if got, want := s.dueBy(cycles*period), uint64(cycles*n*cfg.Burst); got != want {
		t.Errorf("dueBy(%d periods): got %d, want %d", cycles, got, want)
	}
}

// Without bursts the schedule is the steady round-robin: event k is for
// session k mod n, floor(t x rate) events are due by t.
func TestSteadySchedule(t *testing.T) {
	cfg := defaultConfig()
	s := newSchedule(4, cfg, rand.New(rand.NewPCG(1, 0)))
	if s.slots != nil {
		t.Fatalf("steady schedule has %d burst slots", len(s.slots))
	}
	for k := range uint64(20) {
		if got := s.session(k); got != int(k%4) {
			t.Fatalf("session(%d): got %d, want %d", k, got, k%4)
		}
	}
	for _, tc := range []struct {
		t    time.Duration
		want uint64
	}{{-time.Second, 0}, {0, 0}, {24 * time.Millisecond, 0}, {25 * time.Millisecond, 1}, {time.Second, 40}} {
		if got := s.dueBy(tc.t); got != tc.want {
			t.Errorf("dueBy(%v) at 40 events/s: got %d, want %d", tc.t, got, tc.want)
		}
	}
}

// A run with bursts and per-call store latency, small: every check passes,
// and lastevent's writes stay within the burst bound, well under one per
// accepted event.
func TestRunWithBurstsAndStoreLatency(t *testing.T) {
	cfg := smallConfig()
	cfg.Sessions, cfg.Rate, cfg.Duration = 40, 5, 1500*time.Millisecond
	cfg.Burst, cfg.BurstSpacing = 5, 10*time.Millisecond
	cfg.StoreLatency = latencyRange{P5: time.Millisecond, P95: 4 * time.Millisecond}
	r, err := run(context.Background(), cfg, io.Discard)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if !r.CorrectnessOK || r.CutAtDeadline {
		t.Fatalf("correctness %v, cut %v (first failure: %s, close %q)", r.CorrectnessOK, r.CutAtDeadline, r.FirstFailure, r.CloseError)
	}
	if r.WritesPerBurst != 2 {
		t.Errorf("writes per burst bound: got %d, want 2 (a 40ms burst, 100ms flush)", r.WritesPerBurst)
	}
	if r.WritesPerAccepted > r.WritesPerAcceptedBound || r.WritesPerAcceptedBound >= 1 {
		t.Errorf("writes per accepted: got %.3f, bound %.3f; want within a bound under 1", r.WritesPerAccepted, r.WritesPerAcceptedBound)
	}
	if r.DelayedCalls == 0 || r.DelayP99NS < int64(time.Millisecond/2) {
		t.Errorf("store latency: %d calls delayed, p99 %v; want every call delayed >= 0.5ms", r.DelayedCalls, time.Duration(r.DelayP99NS))
	}
}
