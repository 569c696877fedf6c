package shard_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/lastevent/lastevent/backends/fault"
	"github.com/lastevent/lastevent/backends/memory"
	"github.com/lastevent/lastevent/core"
	"github.com/lastevent/lastevent/shard"
)

// TestFault runs each fault kind of backends/fault against a busy tracker,
// then recovers the backend, flushes, and checks with fault.Checker that
// every session's stored checkpoint is exactly its last accepted one (zero
// lost) and that no stored checkpoint ever moved backwards (zero
// regressions). docs/reliability.md tabulates these rows.
func TestFault(t *testing.T) {
	cases := []struct {
		name        string
		cfg         fault.Config
		outage      time.Duration // started mid-run by StartOutage
		maxSessions int
	}{
		{name: "errors", cfg: fault.Config{ErrorRate: 0.3}},
		{name: "permanent-errors", cfg: fault.Config{ErrorRate: 0.3, PermanentShare: 0.5}},
		{name: "throttling", cfg: fault.Config{ThrottleRate: 0.5}},
		{name: "latency", cfg: fault.Config{Latency: 2 * time.Millisecond, Jitter: 8 * time.Millisecond}},
		{name: "outage", outage: 300 * time.Millisecond},
		{name: "partial-batches", cfg: fault.Config{PartialRate: 0.5}},
		{name: "lost-replies", cfg: fault.Config{LostReplyRate: 0.3}},
		{name: "slow-load", cfg: fault.Config{LoadLatency: 5 * time.Millisecond, LoadJitter: 5 * time.Millisecond}},
		{name: "failing-load", cfg: fault.Config{LoadErrorRate: 0.5}},
		{name: "everything+eviction", maxSessions: 64, outage: 200 * time.Millisecond, cfg: fault.Config{
			ErrorRate: 0.1, PermanentShare: 0.2, ThrottleRate: 0.1, PartialRate: 0.2, LostReplyRate: 0.1,
			Latency: time.Millisecond, Jitter: 2 * time.Millisecond, LoadErrorRate: 0.2, LoadLatency: time.Millisecond}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			chk := fault.NewChecker(memory.New())
			tc.cfg.Seed = uint64(i + 1)
			fb := fault.New(chk, tc.cfg)
			tr := startTracker(t, fb, shard.Config{Shards: 4, FlushInterval: 2 * time.Millisecond, MaxBatch: 32,
				RetryBaseDelay: time.Millisecond, RetryMaxDelay: 20 * time.Millisecond,
				BreakerThreshold: 5, BreakerResetTimeout: 50 * time.Millisecond, MaxSessions: tc.maxSessions})

			want := driveSessions(t, tr, 4, 200, 400*time.Millisecond, func() {
				if tc.outage > 0 {
					fb.StartOutage(tc.outage)
				}
			})
			st := fb.Stats()
			if st.InjectedItems()+st.LoadFailures+st.OutageCalls == 0 && tc.cfg.Latency == 0 && tc.cfg.LoadLatency == 0 {
				t.Fatalf("no fault was injected: %+v", st)
			}
			fb.EndOutage()
			if err := fb.Set(fault.Config{}); err != nil { // the backend recovers
				t.Fatal(err)
			}
			flush(t, tr)
			ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
			defer cancel()
			if err := chk.Verify(ctx, want); err != nil {
				t.Fatalf("after recovery and Flush: %v", err)
			}
			if err := chk.Err(); err != nil {
				t.Fatalf("regressions: %v", err)
			}
			ts := tr.Stats()
			t.Logf("%d sessions, %d events accepted; backend: %+v; tracker: %d written, %d stale, %v failures, %d retries, %d breaker opens, %d evicted",
				len(want), ts.EventsAccepted, st, ts.CheckpointsWritten, ts.CheckpointsStale, ts.WriteFailures, ts.Retries, ts.BreakerOpens, ts.Evicted)
		})
	}
}

// driveSessions observes events on sessions from writers goroutines (each
// owning the sessions with its index modulo writers, so their histories are
// known) for about d, replaying an old ID now and then, and calls midway()
// halfway through. It returns each session's last accepted checkpoint.
func driveSessions(t *testing.T, tr *shard.Tracker, writers, sessions int, d time.Duration, midway func()) map[string]core.Checkpoint {
	t.Helper()
	var mu sync.Mutex
	want := make(map[string]core.Checkpoint, sessions)
	var wg sync.WaitGroup
	start := time.Now()
	var once sync.Once
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			seq := make(map[string]uint64)
			last := make(map[string]string)
			for k := 0; time.Since(start) < d; k++ {
				if w == 0 && time.Since(start) > d/2 {
					once.Do(midway)
				}
				for s := w; s < sessions; s += writers {
					name := "s" + strconv.Itoa(s)
					id := "e" + strconv.Itoa(k)
					if k%7 == 3 {
						id = "e" + strconv.Itoa(k-2) // a replay within the window
					}
					accepted, err := tr.Observe(name, id)
					for errors.Is(err, shard.ErrTooManySessions) {
						time.Sleep(100 * time.Microsecond) // room comes when writes succeed
						accepted, err = tr.Observe(name, id)
					}
					if err != nil {
						t.Errorf("Observe(%q, %q): %v", name, id, err)
						return
					}
					if accepted {
						seq[name]++
						last[name] = id
					}
				}
			}
			mu.Lock()
			defer mu.Unlock()
			for name, n := range seq {
				want[name] = core.Checkpoint{Session: name, EventID: last[name], Seq: n}
			}
		}()
	}
	wg.Wait()
	once.Do(midway)
	return want
}
