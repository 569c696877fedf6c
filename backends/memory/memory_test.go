package memory_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"

	"github.com/lastevent/lastevent/backends/memory"
	"github.com/lastevent/lastevent/core"
)

// store writes batch and returns its results.
func store(ctx context.Context, b *memory.Backend, batch ...core.Checkpoint) []core.Result {
	results := make([]core.Result, len(batch))
	b.Store(ctx, batch, results)
	return results
}

func cp(session, id string, seq uint64) core.Checkpoint {
	return core.Checkpoint{Session: session, EventID: id, Seq: seq}
}

func TestStoreIsMonotonic(t *testing.T) {
	ctx := context.Background()
	b := memory.New()
	steps := []struct {
		in   core.Checkpoint
		want core.Outcome
		kept core.Checkpoint
	}{
		{cp("s", "five", 5), core.OutcomeWritten, cp("s", "five", 5)},
		{cp("s", "three", 3), core.OutcomeStale, cp("s", "five", 5)},
		{cp("s", "seven", 7), core.OutcomeWritten, cp("s", "seven", 7)},
		{cp("s", "other-seven", 7), core.OutcomeStale, cp("s", "seven", 7)}, // equal seq is stale
		{cp("s", "one", 1), core.OutcomeStale, cp("s", "seven", 7)},
	}
	for _, st := range steps {
		r := store(ctx, b, st.in)[0]
		if r.Outcome != st.want || r.Err != nil {
			t.Fatalf("Store(%+v): got %v (err %v), want %v", st.in, r.Outcome, r.Err, st.want)
		}
		if !r.Stored() || r.Error() != nil {
			t.Fatalf("Store(%+v): result %+v not reported stored", st.in, r)
		}
		if got, ok := b.Get("s"); !ok || got != st.kept {
			t.Fatalf("after Store(%+v): got (%+v, %v), want %+v", st.in, got, ok, st.kept)
		}
	}
}

func TestStoreBatchMonotonicWithinBatch(t *testing.T) {
	b := memory.New()
	res := store(context.Background(), b, cp("s", "5", 5), cp("s", "3", 3), cp("s", "7", 7), cp("t", "1", 1))
	want := []core.Outcome{core.OutcomeWritten, core.OutcomeStale, core.OutcomeWritten, core.OutcomeWritten}
	for i, r := range res {
		if r.Outcome != want[i] {
			t.Errorf("result %d: got %v, want %v", i, r.Outcome, want[i])
		}
	}
	if got, _ := b.Get("s"); got.Seq != 7 {
		t.Fatalf("stored s: got %+v, want seq 7", got)
	}
	if got := b.Len(); got != 2 {
		t.Fatalf("Len: got %d, want 2", got)
	}
}

func TestStoreRejectsInvalidPermanently(t *testing.T) {
	b := memory.New()
	bad := []core.Checkpoint{cp("", "1", 1), cp("s", "1", 0)}
	for i, r := range store(context.Background(), b, bad...) {
		if r.Outcome != core.OutcomeFailed {
			t.Errorf("Store(%+v): got %v, want failed", bad[i], r.Outcome)
		}
		if !errors.Is(r.Err, core.ErrPermanent) || core.IsRetryable(r.Err) {
			t.Errorf("Store(%+v): got error %v, want a permanent (not retryable) failure", bad[i], r.Err)
		}
		if r.Stored() || r.Error() == nil {
			t.Errorf("Store(%+v): result %+v reported stored", bad[i], r)
		}
	}
	if got := b.Len(); got != 0 {
		t.Fatalf("Len after invalid stores: got %d, want 0", got)
	}
	if got := b.Stats().Writes; got != 0 {
		t.Fatalf("Writes after invalid stores: got %d, want 0", got)
	}
}

func TestStoreWithEndedContextFailsRetryably(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	b := memory.New()
	batch := []core.Checkpoint{cp("a", "1", 1), cp("b", "1", 1)}
	for i, r := range store(ctx, b, batch...) {
		if r.Outcome != core.OutcomeFailed || !errors.Is(r.Err, core.ErrRetryable) || !errors.Is(r.Err, context.Canceled) {
			t.Errorf("Store(%+v) with cancelled ctx: got %v / %v, want failed, retryable, wrapping context.Canceled", batch[i], r.Outcome, r.Err)
		}
		if !core.IsRetryable(r.Err) {
			t.Errorf("Store(%+v) with cancelled ctx: IsRetryable(%v) = false, want true", batch[i], r.Err)
		}
	}
	if got := b.Len(); got != 0 {
		t.Fatalf("Len after cancelled store: got %d, want 0", got)
	}
	if _, err := b.Load(ctx, []string{"a"}); !errors.Is(err, core.ErrRetryable) || !errors.Is(err, context.Canceled) {
		t.Fatalf("Load with cancelled ctx: got %v, want a retryable error wrapping context.Canceled", err)
	}
	if err := b.Delete(ctx, "a"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Delete with cancelled ctx: got %v, want an error wrapping context.Canceled", err)
	}
}

func TestLoad(t *testing.T) {
	ctx := context.Background()
	b := memory.New()
	store(ctx, b, cp("a", "x", 3), cp("b", "y", 9))
	got, err := b.Load(ctx, []string{"a", "missing", "b"})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if len(got) != 2 || got["a"] != cp("a", "x", 3) || got["b"] != cp("b", "y", 9) {
		t.Fatalf("Load: got %+v, want a and b only", got)
	}
	if _, ok := got["missing"]; ok {
		t.Fatal("Load: missing session present in the result, want absent")
	}
	if got, err := b.Load(ctx, nil); err != nil || len(got) != 0 {
		t.Fatalf("Load(nil): got (%v, %v), want empty map, nil", got, err)
	}
	if _, ok := b.Get("missing"); ok {
		t.Fatal("Get of missing session: got ok=true")
	}
}

func TestDeleteThenRestart(t *testing.T) {
	ctx := context.Background()
	b := memory.New()
	store(ctx, b, cp("s", "old", 40))
	if err := b.Delete(ctx, "s"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, ok := b.Get("s"); ok {
		t.Fatal("Get after Delete: got ok=true")
	}
	if err := b.Delete(ctx, "never-stored"); err != nil {
		t.Fatalf("Delete of a missing session: got %v, want nil", err)
	}
	if r := store(ctx, b, cp("s", "new", 1))[0]; r.Outcome != core.OutcomeWritten {
		t.Fatalf("Store seq 1 after Delete: got %v, want written", r.Outcome)
	}
	if got, _ := b.Get("s"); got != cp("s", "new", 1) {
		t.Fatalf("stored after Delete and restart: got %+v, want seq 1 ID new", got)
	}
}

func TestConcurrentStoreKeepsMax(t *testing.T) {
	const goroutines, sessions, perGoroutine = 8, 16, 2000
	b := memory.New()
	var want [sessions]uint64 // highest seq stored per session
	maxes := make([][sessions]uint64, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 99))
			batch := make([]core.Checkpoint, 4)
			results := make([]core.Result, 4)
			for range perGoroutine / len(batch) {
				for i := range batch {
					s, seq := rng.IntN(sessions), rng.Uint64N(1_000_000)+1
					batch[i] = cp("s"+strconv.Itoa(s), strconv.FormatUint(seq, 10), seq)
					maxes[g][s] = max(maxes[g][s], seq)
				}
				b.Store(context.Background(), batch, results)
				for i, r := range results {
					if !r.Stored() {
						t.Errorf("Store(%+v): got %v (%v), want stored", batch[i], r.Outcome, r.Err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	for g := range maxes {
		for s := range want {
			want[s] = max(want[s], maxes[g][s])
		}
	}
	st := b.Stats()
	if got := st.Writes + st.Stale; got != goroutines*perGoroutine {
		t.Fatalf("Writes+Stale: got %d, want %d", got, goroutines*perGoroutine)
	}
	for s, seq := range want {
		got, _ := b.Get("s" + strconv.Itoa(s))
		if got.Seq != seq || got.EventID != strconv.FormatUint(seq, 10) {
			t.Errorf("session s%d after concurrent stores: got %+v, want seq %d", s, got, seq)
		}
	}
}

func TestStatsScripted(t *testing.T) {
	ctx := context.Background()
	b := memory.New()
	if got := b.Stats(); got != (memory.Stats{}) {
		t.Fatalf("Stats of new backend: got %+v, want zero", got)
	}
	store(ctx, b, cp("a", "1", 1), cp("b", "1", 1), cp("a", "2", 2)) // 3 writes
	store(ctx, b, cp("a", "1", 1), cp("b", "1", 1))                  // 2 stale
	store(ctx, b, cp("", "1", 1), cp("c", "0", 0))                   // 2 invalid: neither
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	store(cancelled, b, cp("d", "1", 1))     // failed: neither
	_, _ = b.Load(ctx, []string{"a", "zzz"}) // 1 load
	_, _ = b.Load(ctx, nil)                  // 1 load
	_, _ = b.Load(cancelled, []string{"a"})  // failed: not counted
	_ = b.Delete(ctx, "b")                   // 1 delete
	_ = b.Delete(ctx, "missing")             // 1 delete
	_ = b.Delete(cancelled, "a")             // failed: not counted
	store(ctx, b, cp("b", "1", 1))           // 1 write (b was deleted)

	want := memory.Stats{Writes: 4, Stale: 2, Loads: 2, Deletes: 2}
	if got := b.Stats(); got != want {
		t.Fatalf("Stats: got %+v, want %+v", got, want)
	}
	if got := b.Len(); got != 2 {
		t.Fatalf("Len: got %d, want 2", got)
	}
}

func TestRange(t *testing.T) {
	ctx := context.Background()
	b := memory.New()
	want := map[string]core.Checkpoint{}
	for i := range 10 {
		c := cp("s"+strconv.Itoa(i), "id", uint64(i+1))
		want[c.Session] = c
		store(ctx, b, c)
	}
	got := map[string]core.Checkpoint{}
	b.Range(func(c core.Checkpoint) bool {
		got[c.Session] = c
		return true
	})
	if len(got) != len(want) {
		t.Fatalf("Range visited %d sessions, want %d", len(got), len(want))
	}
	for s, c := range want {
		if got[s] != c {
			t.Errorf("Range %q: got %+v, want %+v", s, got[s], c)
		}
	}
	n := 0
	b.Range(func(core.Checkpoint) bool { n++; return n < 3 })
	if n != 3 {
		t.Fatalf("Range stopped after %d calls, want 3 (f returned false)", n)
	}
}

// The backend satisfies core.Backend; a result slot it fills is never left
// at OutcomeUnknown.
func TestFillsEveryResult(t *testing.T) {
	var b core.Backend = memory.New()
	batch := []core.Checkpoint{cp("a", "1", 1), cp("", "1", 1), cp("a", "1", 1), cp("b", "1", 0)}
	results := make([]core.Result, len(batch))
	b.Store(context.Background(), batch, results)
	for i, r := range results {
		if r.Outcome == core.OutcomeUnknown {
			t.Errorf("result %d for %+v left unfilled", i, batch[i])
		}
	}
}
