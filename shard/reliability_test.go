package shard_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lastevent/lastevent/backends/fault"
	"github.com/lastevent/lastevent/backends/memory"
	"github.com/lastevent/lastevent/core"
	"github.com/lastevent/lastevent/shard"
)

// fakeClock is an injectable Config.Now that moves only when told to.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// permanentBackend fails every Store item with a permanent error while on.
type permanentBackend struct {
	*memory.Backend
	on atomic.Bool
}

func (p *permanentBackend) Store(ctx context.Context, batch []core.Checkpoint, results []core.Result) {
	if !p.on.Load() {
		p.Backend.Store(ctx, batch, results)
		return
	}
	for i, cp := range batch {
		results[i] = core.Result{Outcome: core.OutcomeFailed,
			Err: fmt.Errorf("%w: item refused: session %q seq %d", core.ErrPermanent, cp.Session, cp.Seq)}
	}
}

func TestRetryBackoffWithoutTicks(t *testing.T) {
	fb := newFaultyBackend()
	failures := &failureLog{}
	const base, maxDelay = 2 * time.Millisecond, 16 * time.Millisecond
	// No tick for an hour and no breaker: every retry comes from the backoff timer.
	tr := startTracker(t, fb, shard.Config{Shards: 1, FlushInterval: time.Hour, OnError: failures.record,
		RetryBaseDelay: base, RetryMaxDelay: maxDelay, BreakerThreshold: -1})
	observe(t, tr, "s", "1")
	fb.fail.Store(true)
	_ = flushShort(tr)
	waitFor(t, "8 attempts driven by the retry timer", func() bool { return len(failures.all()) >= 8 })
	observe(t, tr, "s", "2") // a retry must write the newest checkpoint
	waitFor(t, "an attempt with the newest checkpoint", func() bool {
		all := failures.all()
		return all[len(all)-1].Seq == 2
	})
	for i, f := range failures.all() {
		ceiling := maxDelay
		if shift := f.Attempt - 1; shift < 4 {
			ceiling = min(maxDelay, base<<shift)
		}
		if f.Attempt != i+1 || f.RetryIn <= 0 || f.RetryIn > ceiling || !f.Retry {
			t.Fatalf("failure %d: got attempt %d retry in %v (retry %v), want attempt %d and a delay in (0, %v]",
				i, f.Attempt, f.RetryIn, f.Retry, i+1, ceiling)
		}
	}
	fb.fail.Store(false)
	flush(t, tr)
	checkStored(t, tr, fb, []string{"s"})
}

func TestPermanentFailureRetriedAtMaxDelay(t *testing.T) {
	pb := &permanentBackend{Backend: memory.New()}
	pb.on.Store(true)
	failures := &failureLog{}
	const maxDelay = 5 * time.Millisecond
	tr := startTracker(t, pb, shard.Config{Shards: 1, FlushInterval: time.Hour, OnError: failures.record,
		RetryBaseDelay: time.Millisecond, RetryMaxDelay: maxDelay})
	observe(t, tr, "s", "1")
	_ = flushShort(tr)
	waitFor(t, "3 attempts", func() bool { return len(failures.all()) >= 3 })
	for _, f := range failures.all() {
		if f.RetryIn != maxDelay || !f.Retry || core.IsRetryable(f.Err) || !errors.Is(f.Err, core.ErrPermanent) {
			t.Fatalf("permanent failure: got %+v, want RetryIn %v, Retry, Err wrapping core.ErrPermanent", f, maxDelay)
		}
	}
	pb.on.Store(false) // the operator fixed it: the session was never dropped
	flush(t, tr)
	checkStored(t, tr, pb, []string{"s"})
}

func TestBreakerBoundsCallsDuringOutage(t *testing.T) {
	fb := newFaultyBackend()
	var mu sync.Mutex
	var changes []shard.BreakerChange
	const threshold, reset, outage = 3, 100 * time.Millisecond, 700 * time.Millisecond
	tr := startTracker(t, fb, shard.Config{Shards: 1, FlushInterval: 2 * time.Millisecond,
		RetryBaseDelay: time.Millisecond, RetryMaxDelay: 2 * time.Millisecond,
		BreakerThreshold: threshold, BreakerResetTimeout: reset,
		OnBreakerChange: func(c shard.BreakerChange) {
			mu.Lock()
			changes = append(changes, c)
			mu.Unlock()
		}})
	fb.fail.Store(true)
	before := fb.stores.Load()
	deadline := time.After(outage)
	for i := 0; ; i++ {
		select {
		case <-deadline:
		default:
			// Observe keeps working during the outage.
			observe(t, tr, "s"+strconv.Itoa(i%50), strconv.Itoa(i))
			if i%100 == 0 {
				time.Sleep(time.Millisecond) // let ticks and probes happen
			}
			continue
		}
		break
	}
	calls := fb.stores.Load() - before
	// Without a breaker this would be one call per 2ms tick (~350) plus
	// retries; with it, threshold calls, then one probe per reset timeout.
	if limit := int64(threshold + int(outage/reset) + 2); calls > limit {
		t.Fatalf("Store calls during a %v outage: got %d, want at most %d (threshold %d + one probe per %v)",
			outage, calls, limit, threshold, reset)
	}
	mu.Lock()
	opened := len(changes) > 0 && changes[0].To == "open"
	mu.Unlock()
	if !opened {
		t.Fatalf("breaker changes during the outage: got %+v, want the first to be to open", changes)
	}
	fb.fail.Store(false)
	flush(t, tr)
	names := make([]string, 50)
	for i := range names {
		names[i] = "s" + strconv.Itoa(i)
	}
	checkStored(t, tr, fb, names)
	mu.Lock()
	defer mu.Unlock()
	if last := changes[len(changes)-1]; last.To != "closed" {
		t.Fatalf("last breaker change after recovery: got %+v, want to closed", last)
	}
}

func TestResumeFailsFastWhileBreakerOpen(t *testing.T) {
	fb := newFaultyBackend()
	tr := startTracker(t, fb, shard.Config{Shards: 1, FlushInterval: time.Hour,
		BreakerThreshold: 1, BreakerResetTimeout: time.Hour})
	fb.failLoad.Store(true)
	if _, err := tr.Resume(context.Background(), "a"); err == nil {
		t.Fatal("Resume with a failing Load: got nil error")
	}
	loads := fb.Stats().Loads
	_, err := tr.Resume(context.Background(), "b")
	if !errors.Is(err, shard.ErrBreakerOpen) || !core.IsRetryable(err) {
		t.Fatalf("Resume while the breaker is open: got %v, want ErrBreakerOpen (retryable)", err)
	}
	if got := fb.Stats().Loads; got != loads {
		t.Fatalf("Loads while the breaker is open: got %d more, want 0", got-loads)
	}
}

func TestIdleTTLEvictsWithFakeClock(t *testing.T) {
	b := memory.New()
	clock := &fakeClock{}
	const ttl = time.Minute
	tr := startTracker(t, b, shard.Config{Shards: 2, FlushInterval: time.Hour, IdleTTL: ttl, Now: clock.Now})
	names := make([]string, 10)
	for i := range names {
		names[i] = "s" + strconv.Itoa(i)
		for j := 1; j <= 3; j++ {
			observe(t, tr, names[i], strconv.Itoa(j))
		}
	}
	flush(t, tr)
	clock.Advance(ttl / 2)
	for _, s := range names[:5] {
		if observe(t, tr, s, "3") {
			t.Fatalf("Observe(%q, 3): accepted, want a duplicate", s)
		}
	}
	observe(t, tr, names[5], "4")
	flush(t, tr) // sweeps: s0..s5 were active at ttl/2
	if got := tr.Sessions(); got != len(names) {
		t.Fatalf("sessions before anyone is idle for IdleTTL: got %d, want %d", got, len(names))
	}
	clock.Advance(ttl/2 + time.Second)
	flush(t, tr)
	if got := tr.Sessions(); got != 6 {
		t.Fatalf("sessions after s6..s9 idled for IdleTTL: got %d, want 6", got)
	}
	if _, ok := tr.LastEventID("s7"); ok {
		t.Fatal("LastEventID of an evicted session: got ok, want not in memory")
	}
	if got, _ := storedOf(t, b, "s7"); got.Seq != 3 {
		t.Fatalf("stored s7 after eviction: got %+v, want seq 3", got)
	}
	// Resume reloads an evicted session; Observe of another continues its Seq.
	if cp, err := tr.Resume(context.Background(), "s8"); err != nil || cp.Seq != 3 || cp.EventID != "3" {
		t.Fatalf("Resume of evicted s8: got (%+v, %v), want seq 3 ID 3", cp, err)
	}
	observe(t, tr, "s7", "4")
	flush(t, tr)
	if got, _ := storedOf(t, b, "s7"); got.Seq != 4 || got.EventID != "4" {
		t.Fatalf("stored s7 after an Observe that followed its eviction: got %+v, want seq 4 ID 4", got)
	}
}

func TestMaxSessionsHolds(t *testing.T) {
	b := memory.New()
	const limit, total = 100, 1000 // ten times more sessions than allowed
	tr := startTracker(t, b, shard.Config{Shards: 4, FlushInterval: time.Millisecond, MaxSessions: limit})
	rejected := 0
	for i := range total {
		s := "s" + strconv.Itoa(i)
		for j := 1; j <= 2; j++ {
			for {
				_, err := tr.Observe(s, strconv.Itoa(j))
				if err == nil {
					break
				}
				if !errors.Is(err, shard.ErrTooManySessions) {
					t.Fatalf("Observe(%q): %v", s, err)
				}
				rejected++
				flush(t, tr) // stores the dirty sessions so they can be evicted
			}
			if n := tr.Sessions(); n > limit {
				t.Fatalf("sessions in memory after %d: got %d, want at most %d", i+1, n, limit)
			}
		}
	}
	flush(t, tr)
	for i := range total {
		s := "s" + strconv.Itoa(i)
		if got, _ := storedOf(t, b, s); got.Seq != 2 || got.EventID != "2" {
			t.Fatalf("stored %q: got %+v, want seq 2 ID 2 (evicted sessions keep their checkpoints)", s, got)
		}
	}
	t.Logf("%d Observes waited for room", rejected)
}

func TestTooManySessionsWhenAllDirty(t *testing.T) {
	fb := newFaultyBackend()
	const limit = 10
	tr := startTracker(t, fb, shard.Config{Shards: 2, FlushInterval: time.Hour, MaxSessions: limit,
		BreakerThreshold: -1, RetryBaseDelay: time.Hour, RetryMaxDelay: time.Hour})
	fb.fail.Store(true)
	for i := range limit {
		observe(t, tr, "s"+strconv.Itoa(i), "1")
	}
	_ = flushShort(tr) // every session failed to store: all dirty
	accepted, err := tr.Observe("new", "1")
	if accepted || !errors.Is(err, shard.ErrTooManySessions) {
		t.Fatalf("Observe of a new session with %d dirty in memory: got (%v, %v), want ErrTooManySessions", limit, accepted, err)
	}
	if _, err := tr.Resume(context.Background(), "new2"); !errors.Is(err, shard.ErrTooManySessions) {
		t.Fatalf("Resume of a new session at the limit: got %v, want ErrTooManySessions", err)
	}
	if _, ok := tr.Checkpoint("new"); ok || tr.Sessions() != limit {
		t.Fatalf("after a rejected Observe: in memory %v, sessions %d; want absent and %d", ok, tr.Sessions(), limit)
	}
	if !observe(t, tr, "s0", "2") {
		t.Fatal("Observe of an existing session at the limit: not accepted")
	}
	fb.fail.Store(false)
	flush(t, tr) // stored, clean, and the sweep makes room
	if !observe(t, tr, "new", "1") {
		t.Fatal("Observe of a new session after the backend recovered: not accepted")
	}
	flush(t, tr)
	for s, want := range map[string]uint64{"s0": 2, "s1": 1, "new": 1} {
		if got, _ := storedOf(t, fb, s); got.Seq != want {
			t.Errorf("stored %q: got %+v, want seq %d", s, got, want)
		}
	}
}

// TestEvictionRacingObserve hammers sessions under a MaxSessions so small
// that eviction runs all the time, so Observes race the eviction of their
// own session. Each session has one writer, so its expected history is
// known: the stored checkpoint must be its last ID with Seq equal to the
// number of events, and no write may ever move it backwards.
func TestEvictionRacingObserve(t *testing.T) {
	mb := memory.New()
	rec := fault.NewChecker(mb) // fails the check on any stored checkpoint moving backwards
	const sessions, writers, events = 64, 4, 300
	tr := startTracker(t, rec, shard.Config{Shards: 4, FlushInterval: time.Millisecond, MaxSessions: 16})
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 1; i <= events; i++ {
				for s := w; s < sessions; s += writers {
					for {
						_, err := tr.Observe("s"+strconv.Itoa(s), strconv.Itoa(i))
						if err == nil {
							break
						}
						if !errors.Is(err, shard.ErrTooManySessions) {
							t.Errorf("Observe: %v", err)
							return
						}
						time.Sleep(50 * time.Microsecond) // room comes with the next flush
					}
				}
			}
		}()
	}
	wg.Wait()
	flush(t, tr)
	for s := range sessions {
		name := "s" + strconv.Itoa(s)
		if got, _ := storedOf(t, mb, name); got.Seq != events || got.EventID != strconv.Itoa(events) {
			t.Errorf("stored %q: got %+v, want seq %d ID %d", name, got, events, events)
		}
	}
	if err := rec.Err(); err != nil {
		t.Fatal(err)
	}
}
