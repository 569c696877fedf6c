package fault_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lastevent/lastevent/backends/fault"
	"github.com/lastevent/lastevent/backends/memory"
	"github.com/lastevent/lastevent/core"
)

func TestZeroConfigPassesThrough(t *testing.T) {
	ctx := context.Background()
	mem := memory.New()
	fb := fault.New(mem, fault.Config{})
	batch := batchOf("s", 50, 3)
	for i, r := range store(ctx, fb, batch) {
		if r.Outcome != core.OutcomeWritten {
			t.Fatalf("item %d: got %v (%v), want written", i, r.Outcome, r.Err)
		}
	}
	for i, r := range store(ctx, fb, batch) {
		if r.Outcome != core.OutcomeStale {
			t.Fatalf("re-store item %d: got %v (%v), want stale: the next backend's outcome", i, r.Outcome, r.Err)
		}
	}
	if got, err := fb.Load(ctx, []string{"s-0", "nope"}); err != nil || len(got) != 1 || got["s-0"] != batch[0] {
		t.Fatalf("Load: got %v, %v, want s-0 only", got, err)
	}
	if err := fb.Delete(ctx, "s-0"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, ok := mem.Get("s-0"); ok {
		t.Fatal("Delete did not reach the next backend")
	}
	want := fault.Stats{StoreCalls: 2, StoreItems: 100, Forwarded: 100, LoadCalls: 1, DeleteCalls: 1}
	if got := fb.Stats(); got != want {
		t.Fatalf("Stats: got %+v, want %+v", got, want)
	}
}

// A fault Config with every Store kind at a middling rate.
func mixed(seed uint64) fault.Config {
	return fault.Config{Seed: seed, ErrorRate: 0.2, PermanentShare: 0.3, ThrottleRate: 0.1,
		PartialRate: 0.2, LostReplyRate: 0.1, Jitter: time.Microsecond, LoadErrorRate: 0.3, DeleteErrorRate: 0.3}
}

// run drives fb with a fixed call sequence and returns every outcome and
// error text.
func run(fb *fault.Backend) []string {
	ctx := context.Background()
	var out []string
	for call := range 300 {
		batch := batchOf("s", 1+call%17, uint64(call+1))
		for _, r := range store(ctx, fb, batch) {
			s := r.Outcome.String()
			if r.Err != nil {
				s += " " + r.Err.Error()
			}
			out = append(out, s)
		}
		if call%10 == 0 {
			_, err := fb.Load(ctx, []string{"s-0"})
			out = append(out, "load", errString(err))
			out = append(out, "delete", errString(fb.Delete(ctx, "s-1")))
		}
	}
	return out
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

func TestSameSeedSameFaults(t *testing.T) {
	a, b := fault.New(memory.New(), mixed(7)), fault.New(memory.New(), mixed(7))
	ra, rb := run(a), run(b)
	if !reflect.DeepEqual(ra, rb) {
		t.Fatal("two backends with seed 7 given the same calls injected different faults")
	}
	if a.Stats() != b.Stats() {
		t.Fatalf("Stats with the same seed: %+v vs %+v", a.Stats(), b.Stats())
	}
	checkInvariant(t, a.Stats())
	if rc := run(fault.New(memory.New(), mixed(8))); reflect.DeepEqual(ra, rc) {
		t.Fatal("seeds 7 and 8 injected the same faults: the seed is not used")
	}
}

func TestErrorRate(t *testing.T) {
	ctx := context.Background()
	mem := memory.New()
	fb := fault.New(mem, fault.Config{Seed: 1, ErrorRate: 0.3, PermanentShare: 0.25})
	const calls, size = 200, 100
	for call := range calls {
		batch := batchOf("c"+string(rune('a'+call%26))+strings.Repeat("x", call/26), size, 1)
		for i, r := range store(ctx, fb, batch) {
			cp := batch[i]
			_, stored := mem.Get(cp.Session)
			switch r.Outcome {
			case core.OutcomeWritten:
				if !stored {
					t.Fatalf("%+v reported written, not in the next backend", cp)
				}
			case core.OutcomeFailed:
				checkFailure(t, cp, r, fault.ErrInjected)
				if errors.Is(r.Err, fault.ErrThrottled) || errors.Is(r.Err, fault.ErrUnprocessed) {
					t.Fatalf("%+v: error-rate failure %q wraps another kind", cp, r.Err)
				}
				if stored {
					t.Fatalf("%+v failed by ErrorRate but reached the next backend", cp)
				}
			default:
				t.Fatalf("%+v: got %v, want written or failed", cp, r.Outcome)
			}
		}
	}
	st := fb.Stats()
	checkInvariant(t, st)
	failed := st.Retryable + st.Permanent
	within(t, "failed items", failed, calls*size, 0.3, 0.02)
	within(t, "permanent share of failures", st.Permanent, failed, 0.25, 0.03)
	if got := uint64(mem.Len()); got != st.Forwarded {
		t.Fatalf("next backend holds %d sessions, Stats.Forwarded %d", got, st.Forwarded)
	}
}

func TestErrorRateExtremes(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		cfg   fault.Config
		class error
	}{
		{fault.Config{ErrorRate: 1}, core.ErrRetryable},
		{fault.Config{ErrorRate: 1, PermanentShare: 1}, core.ErrPermanent},
	} {
		mem := memory.New()
		fb := fault.New(mem, tc.cfg)
		batch := batchOf("s", 20, 1)
		for i, r := range store(ctx, fb, batch) {
			checkFailure(t, batch[i], r, fault.ErrInjected, tc.class)
		}
		if mem.Len() != 0 || fb.Stats().Forwarded != 0 {
			t.Fatalf("%+v: %d sessions reached the next backend, want 0", tc.cfg, mem.Len())
		}
	}
}

func TestThrottle(t *testing.T) {
	ctx := context.Background()
	mem := memory.New()
	fb := fault.New(mem, fault.Config{Seed: 3, ThrottleRate: 0.4})
	const calls, size = 1000, 8
	throttledCalls := 0
	for call := range calls {
		batch := batchOf("s", size, uint64(call+1))
		results := store(ctx, fb, batch)
		n := 0
		for i, r := range results {
			if r.Outcome == core.OutcomeFailed {
				checkFailure(t, batch[i], r, fault.ErrThrottled, fault.ErrInjected, core.ErrRetryable)
				n++
			}
		}
		switch n {
		case 0:
		case size:
			throttledCalls++
			if got, _ := mem.Get("s-0"); got.Seq == uint64(call+1) {
				t.Fatalf("call %d throttled but reached the next backend", call)
			}
		default:
			t.Fatalf("call %d: %d of %d items throttled, want all or none", call, n, size)
		}
	}
	within(t, "throttled calls", uint64(throttledCalls), calls, 0.4, 0.05)
	st := fb.Stats()
	checkInvariant(t, st)
	if st.Throttled != uint64(throttledCalls*size) {
		t.Fatalf("Stats.Throttled %d, want %d", st.Throttled, throttledCalls*size)
	}
}

func TestPartialBatch(t *testing.T) {
	ctx := context.Background()
	const size = 10
	seen := make(map[int]bool) // unprocessed tail lengths
	for call := range 400 {
		mem := memory.New()
		fb := fault.New(mem, fault.Config{Seed: uint64(call), PartialRate: 1})
		batch := batchOf("s", size, 1)
		results := store(ctx, fb, batch)
		cut := 0
		for cut < size && results[cut].Outcome == core.OutcomeWritten {
			cut++
		}
		if cut == 0 || cut == size {
			t.Fatalf("seed %d: %d of %d items written, want a proper non-empty prefix", call, cut, size)
		}
		for i, r := range results {
			_, stored := mem.Get(batch[i].Session)
			if i < cut != stored {
				t.Fatalf("seed %d item %d: in next backend %v, want %v (cut %d)", call, i, stored, i < cut, cut)
			}
			if i >= cut {
				checkFailure(t, batch[i], r, fault.ErrUnprocessed, fault.ErrInjected, core.ErrRetryable)
			}
		}
		seen[size-cut] = true
		st := fb.Stats()
		checkInvariant(t, st)
		if st.Unprocessed != uint64(size-cut) || st.Forwarded != uint64(cut) {
			t.Fatalf("seed %d: Stats %+v, want %d unprocessed, %d forwarded", call, st, size-cut, cut)
		}
	}
	for tail := 1; tail < size; tail++ {
		if !seen[tail] {
			t.Errorf("no partial batch left %d items unprocessed in 400 seeds; tails seen %v", tail, seen)
		}
	}
	// A single item is never a partial batch.
	fb := fault.New(memory.New(), fault.Config{PartialRate: 1})
	if r := store(ctx, fb, batchOf("one", 1, 1))[0]; r.Outcome != core.OutcomeWritten {
		t.Fatalf("one-item batch with PartialRate 1: got %v (%v), want written", r.Outcome, r.Err)
	}
}

func TestLostReply(t *testing.T) {
	ctx := context.Background()
	mem := memory.New()
	fb := fault.New(mem, fault.Config{LostReplyRate: 1})
	batch := batchOf("s", 5, 4)
	for i, r := range store(ctx, fb, batch) {
		checkFailure(t, batch[i], r, fault.ErrReplyLost, fault.ErrInjected, core.ErrRetryable)
		if got, _ := mem.Get(batch[i].Session); got != batch[i] {
			t.Fatalf("item %d: next backend holds %+v, want %+v: a lost reply's write lands", i, got, batch[i])
		}
	}
	if err := fb.Set(fault.Config{}); err != nil {
		t.Fatal(err)
	}
	for i, r := range store(ctx, fb, batch) {
		if r.Outcome != core.OutcomeStale {
			t.Fatalf("retry of item %d after a lost reply: got %v, want stale", i, r.Outcome)
		}
	}
	st := fb.Stats()
	checkInvariant(t, st)
	if st.LostReplies != 5 || st.Forwarded != 10 || st.InjectedItems() != 5 {
		t.Fatalf("Stats %+v: want 5 lost replies, 10 forwarded, 5 injected", st)
	}
}

// Every fault at once: each result is filled and says the truth about the
// next backend, whatever sub-batch the item travelled in. Every third
// session already holds a newer checkpoint, so the next backend answers
// written and stale in one batch and a result copied back to the wrong
// item shows.
func TestMixedResultsMatchNextBackend(t *testing.T) {
	ctx := context.Background()
	mem := memory.New()
	fb := fault.New(mem, mixed(11))
	for call := range 300 {
		batch := batchOf("c"+strings.Repeat("x", call), 1+call%23, 1)
		newer := make(map[string]bool)
		for i := 0; i < len(batch); i += 3 {
			store(ctx, mem, []core.Checkpoint{{Session: batch[i].Session, EventID: "newer", Seq: 2}})
			newer[batch[i].Session] = true
		}
		for i, r := range store(ctx, fb, batch) {
			cp := batch[i]
			got, _ := mem.Get(cp.Session)
			switch {
			case r.Outcome == core.OutcomeWritten:
				if got != cp {
					t.Fatalf("%+v reported written, next backend holds %+v", cp, got)
				}
			case r.Outcome == core.OutcomeStale:
				if !newer[cp.Session] {
					t.Fatalf("%+v reported stale, next backend holds %+v", cp, got)
				}
			case r.Outcome == core.OutcomeFailed && errors.Is(r.Err, fault.ErrReplyLost):
				checkFailure(t, cp, r, core.ErrRetryable)
				if got != cp && !newer[cp.Session] {
					t.Fatalf("%+v reply lost, next backend holds %+v", cp, got)
				}
			case r.Outcome == core.OutcomeFailed:
				checkFailure(t, cp, r, fault.ErrInjected)
				if got == cp {
					t.Fatalf("%+v failed (%v) but stored", cp, r.Err)
				}
			default:
				t.Fatalf("%+v: result left unfilled", cp)
			}
		}
	}
	st := fb.Stats()
	checkInvariant(t, st)
	for name, n := range map[string]uint64{"retryable": st.Retryable, "permanent": st.Permanent,
		"throttled": st.Throttled, "unprocessed": st.Unprocessed, "lost replies": st.LostReplies} {
		if n == 0 {
			t.Errorf("no %s failure in 300 mixed calls", name)
		}
	}
}

func TestLatency(t *testing.T) {
	ctx := context.Background()
	const d = 30 * time.Millisecond
	fb := fault.New(memory.New(), fault.Config{Latency: d, Jitter: d, LoadLatency: d})
	start := time.Now()
	if r := store(ctx, fb, batchOf("s", 1, 1))[0]; r.Outcome != core.OutcomeWritten {
		t.Fatalf("slow Store: got %v (%v), want written", r.Outcome, r.Err)
	}
	if el := time.Since(start); el < d {
		t.Fatalf("Store with Latency %v returned after %v", d, el)
	}
	start = time.Now()
	if _, err := fb.Load(ctx, []string{"s-0"}); err != nil {
		t.Fatalf("slow Load: %v", err)
	}
	if el := time.Since(start); el < d {
		t.Fatalf("Load with LoadLatency %v returned after %v", d, el)
	}
}

// Added latency is a select on a timer and ctx: a call whose ctx ends
// returns at once, failing retryable with ctx.Err(), and nothing reaches
// the next backend.
func TestLatencyHonoursContext(t *testing.T) {
	mem := memory.New()
	fb := fault.New(mem, fault.Config{Latency: time.Hour, LoadLatency: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	batch := batchOf("s", 3, 1)
	for i, r := range store(ctx, fb, batch) {
		checkFailure(t, batch[i], r, core.ErrRetryable, context.DeadlineExceeded)
		if errors.Is(r.Err, fault.ErrInjected) {
			t.Fatalf("ctx end reported as injected: %v", r.Err)
		}
	}
	if _, err := fb.Load(ctx, []string{"s-0"}); !errors.Is(err, core.ErrRetryable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Load past its deadline: got %v, want retryable wrapping DeadlineExceeded", err)
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Fatalf("calls with 1h latency and a 20ms deadline took %v", el)
	}
	if mem.Len() != 0 {
		t.Fatalf("next backend holds %d sessions, want 0", mem.Len())
	}
	st := fb.Stats()
	checkInvariant(t, st)
	if st.Canceled != 3 {
		t.Fatalf("Stats.Canceled %d, want 3", st.Canceled)
	}
}

func TestEndedContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	mem := memory.New()
	fb := fault.New(mem, fault.Config{})
	batch := batchOf("s", 2, 1)
	for i, r := range store(ctx, fb, batch) {
		checkFailure(t, batch[i], r, core.ErrRetryable, context.Canceled)
	}
	if _, err := fb.Load(ctx, nil); !errors.Is(err, core.ErrRetryable) || !errors.Is(err, context.Canceled) {
		t.Fatalf("Load with ended ctx: got %v", err)
	}
	if err := fb.Delete(ctx, "s-0"); !errors.Is(err, core.ErrRetryable) || !errors.Is(err, context.Canceled) {
		t.Fatalf("Delete with ended ctx: got %v", err)
	}
	if mem.Len() != 0 {
		t.Fatal("an ended ctx's Store reached the next backend")
	}
}

func TestLoadFaults(t *testing.T) {
	ctx := context.Background()
	mem := memory.New()
	store(ctx, mem, batchOf("s", 1, 1))
	fb := fault.New(mem, fault.Config{Seed: 5, LoadErrorRate: 0.5})
	const calls = 2000
	for range calls {
		got, err := fb.Load(ctx, []string{"s-0"})
		switch {
		case err == nil && len(got) == 1:
		case err != nil && got == nil && errors.Is(err, fault.ErrInjected) && errors.Is(err, core.ErrRetryable):
		default:
			t.Fatalf("Load: got %v, %v; want the stored checkpoint or a retryable injected failure", got, err)
		}
	}
	st := fb.Stats()
	within(t, "failed loads", st.LoadFailures, calls, 0.5, 0.05)
	if st.LoadCalls != calls {
		t.Fatalf("Stats.LoadCalls %d, want %d", st.LoadCalls, calls)
	}
	if err := fb.Set(fault.Config{LoadErrorRate: 1, PermanentShare: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := fb.Load(ctx, []string{"s-0"}); !errors.Is(err, core.ErrPermanent) || core.IsRetryable(err) {
		t.Fatalf("Load with PermanentShare 1: got %v, want permanent", err)
	}
}

func TestDeleteFaults(t *testing.T) {
	ctx := context.Background()
	mem := memory.New()
	store(ctx, mem, batchOf("s", 2, 1))
	fb := fault.New(mem, fault.Config{DeleteErrorRate: 1})
	if err := fb.Delete(ctx, "s-0"); !errors.Is(err, fault.ErrInjected) || !errors.Is(err, core.ErrRetryable) || !strings.Contains(err.Error(), `"s-0"`) {
		t.Fatalf("Delete with DeleteErrorRate 1: got %v, want a retryable injected failure naming s-0", err)
	}
	if _, ok := mem.Get("s-0"); !ok {
		t.Fatal("failed Delete reached the next backend")
	}
	if err := fb.Set(fault.Config{ErrorRate: 1}); err != nil { // Store faults leave Delete alone
		t.Fatal(err)
	}
	if err := fb.Delete(ctx, "s-0"); err != nil {
		t.Fatalf("Delete with only Store faults: %v", err)
	}
	if _, ok := mem.Get("s-0"); ok {
		t.Fatal("Delete did not reach the next backend")
	}
	if st := fb.Stats(); st.DeleteCalls != 2 || st.DeleteFailures != 1 {
		t.Fatalf("Stats %+v: want 2 delete calls, 1 failure", st)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg   fault.Config
		field string
	}{
		{fault.Config{ErrorRate: 1.5}, "ErrorRate"},
		{fault.Config{PermanentShare: -0.1}, "PermanentShare"},
		{fault.Config{ThrottleRate: 2}, "ThrottleRate"},
		{fault.Config{PartialRate: -1}, "PartialRate"},
		{fault.Config{LostReplyRate: 1.01}, "LostReplyRate"},
		{fault.Config{LoadErrorRate: 3}, "LoadErrorRate"},
		{fault.Config{DeleteErrorRate: -3}, "DeleteErrorRate"},
		{fault.Config{Latency: -1}, "Latency"},
		{fault.Config{Jitter: -1}, "Jitter"},
		{fault.Config{LoadLatency: -1}, "LoadLatency"},
		{fault.Config{LoadJitter: -1}, "LoadJitter"},
		{fault.Config{OutageAfter: -1}, "OutageAfter"},
		{fault.Config{OutageFor: -1}, "OutageFor"},
	} {
		err := tc.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), "Config."+tc.field+" ") {
			t.Errorf("Validate(%+v): got %v, want an error naming %s", tc.cfg, err, tc.field)
		}
	}
	nan := 0.0
	nan /= nan
	if err := (fault.Config{ErrorRate: nan}).Validate(); err == nil {
		t.Error("Validate accepted ErrorRate NaN")
	}
	if err := mixed(1).Validate(); err != nil {
		t.Errorf("Validate(mixed): %v", err)
	}

	fb := fault.New(memory.New(), fault.Config{Seed: 9, ErrorRate: 0.5})
	if err := fb.Set(fault.Config{ErrorRate: 2}); err == nil {
		t.Fatal("Set accepted ErrorRate 2")
	}
	if got := fb.Config(); got.ErrorRate != 0.5 {
		t.Fatalf("Config after a rejected Set: ErrorRate %v, want 0.5 unchanged", got.ErrorRate)
	}
	if err := fb.Set(fault.Config{Seed: 1, ThrottleRate: 0.1}); err != nil {
		t.Fatal(err)
	}
	if got := fb.Config(); got.Seed != 9 || got.ThrottleRate != 0.1 || got.ErrorRate != 0 {
		t.Fatalf("Config after Set: %+v, want Seed 9 kept, ThrottleRate 0.1, ErrorRate 0", got)
	}

	defer func() {
		if recover() == nil {
			t.Fatal("New with an invalid Config did not panic")
		}
	}()
	fault.New(memory.New(), fault.Config{ErrorRate: -1})
}
