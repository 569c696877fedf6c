package memory_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/lastevent/lastevent/backends/backendtest"
	"github.com/lastevent/lastevent/backends/memory"
	"github.com/lastevent/lastevent/core"
	"github.com/lastevent/lastevent/internal/testmodel"
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

// The memory backend keeps the whole core.Backend contract.
func TestConformance(t *testing.T) {
	backendtest.Run(t, backendtest.Harness{New: func(*testing.T) core.Backend { return memory.New() }})
}

// Invalid checkpoints and a cancelled context write nothing, and Get and
// Len agree with what the contract checks saw through Load.
func TestGetAndLenSeeOnlyWrites(t *testing.T) {
	ctx := context.Background()
	b := memory.New()
	store(ctx, b, cp("", "1", 1), cp("s", "1", 0))
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	store(cancelled, b, cp("a", "1", 1))
	if got := b.Len(); got != 0 {
		t.Fatalf("Len after invalid and cancelled stores: got %d, want 0", got)
	}
	store(ctx, b, cp("a", "x", 3), cp("a", "y", 2))
	if got, ok := b.Get("a"); !ok || got != cp("a", "x", 3) {
		t.Fatalf("Get(a): got (%+v, %v), want seq 3 ID x", got, ok)
	}
	if _, ok := b.Get("missing"); ok {
		t.Fatal("Get of a missing session: got ok=true")
	}
	_ = b.Delete(ctx, "a")
	if _, ok := b.Get("a"); ok || b.Len() != 0 {
		t.Fatalf("after Delete: Get ok=%v, Len %d, want absent and 0", ok, b.Len())
	}
}

// Load and Delete with an ended context fail retryably, wrapping ctx.Err().
// The contract requires this of Store only; the memory backend also does it
// for Load and Delete.
func TestLoadAndDeleteHonourContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	b := memory.New()
	if _, err := b.Load(ctx, []string{"a"}); !errors.Is(err, core.ErrRetryable) || !errors.Is(err, context.Canceled) {
		t.Fatalf("Load with cancelled ctx: got %v, want a retryable error wrapping context.Canceled", err)
	}
	if err := b.Delete(ctx, "a"); !errors.Is(err, core.ErrRetryable) || !errors.Is(err, context.Canceled) {
		t.Fatalf("Delete with cancelled ctx: got %v, want a retryable error wrapping context.Canceled", err)
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

// withWindow returns c with a window of the hashes of ids, oldest first;
// the last ID should be c.EventID.
func withWindow(c core.Checkpoint, ids ...string) core.Checkpoint {
	c.Window = testmodel.WindowOf(ids)
	return c
}

// A checkpoint whose window does not belong to it fails permanently,
// wrapping core.ErrInvalidWindow and naming session and seq, and changes
// nothing: the stored checkpoint, its window and the counters stay.
func TestStoreRefusesInvalidWindow(t *testing.T) {
	ctx := context.Background()
	b := memory.New()
	kept := withWindow(cp("s", "b", 2), "a", "b")
	if r := store(ctx, b, kept)[0]; r.Outcome != core.OutcomeWritten {
		t.Fatalf("Store(%+v): got %v (%v), want written", kept, r.Outcome, r.Err)
	}
	torn := withWindow(cp("s", "d", 4), "c", "d")
	torn.Window = torn.Window[:12]
	for _, tc := range []struct {
		name string
		c    core.Checkpoint
	}{
		{"torn", torn},
		{"newest not EventID's", withWindow(cp("s", "d", 4), "c", "x")},
		{"repeated hash", withWindow(cp("s", "d", 4), "c", "c", "d")},
		{"more hashes than seq", withWindow(cp("s", "d", 2), "b", "c", "d")},
		{"fresh session", withWindow(cp("fresh", "d", 4), "c", "x")},
	} {
		r := store(ctx, b, tc.c)[0]
		if r.Outcome != core.OutcomeFailed || !errors.Is(r.Err, core.ErrPermanent) || !errors.Is(r.Err, core.ErrInvalidWindow) {
			t.Errorf("Store (%s): got %v (%v), want failed wrapping ErrPermanent and ErrInvalidWindow", tc.name, r.Outcome, r.Err)
			continue
		}
		if msg := r.Err.Error(); !strings.Contains(msg, strconv.Quote(tc.c.Session)) || !strings.Contains(msg, "seq "+strconv.FormatUint(tc.c.Seq, 10)) {
			t.Errorf("Store (%s): error %q does not name session %q and seq %d", tc.name, msg, tc.c.Session, tc.c.Seq)
		}
	}
	if got, ok := b.Get("s"); !ok || got != kept {
		t.Fatalf("Get(s) after invalid windows: got (%v, %v), want %v", got, ok, kept)
	}
	if _, ok := b.Get("fresh"); ok || b.Len() != 1 {
		t.Fatalf("after invalid windows: fresh present %v, Len %d, want absent and 1", ok, b.Len())
	}
	if got, want := b.Stats(), (memory.Stats{Writes: 1}); got != want {
		t.Fatalf("Stats: got %+v, want %+v (an invalid checkpoint is neither written nor stale)", got, want)
	}
}

// The window is part of the stored value: a newer checkpoint replaces it,
// one without a window leaves none, and a stale one leaves it.
func TestWindowStoredWithCheckpoint(t *testing.T) {
	ctx := context.Background()
	b := memory.New()
	for _, st := range []struct {
		in, want core.Checkpoint
	}{
		{withWindow(cp("s", "b", 2), "a", "b"), withWindow(cp("s", "b", 2), "a", "b")},
		{withWindow(cp("s", "x", 1), "x"), withWindow(cp("s", "b", 2), "a", "b")}, // stale
		{cp("s", "b", 2), withWindow(cp("s", "b", 2), "a", "b")},                  // stale, no window
		{cp("s", "c", 3), cp("s", "c", 3)},                                        // newer, no window
		{withWindow(cp("s", "e", 5), "d", "e"), withWindow(cp("s", "e", 5), "d", "e")},
	} {
		store(ctx, b, st.in)
		if got, _ := b.Get("s"); got != st.want {
			t.Fatalf("after Store(seq %d, window %v): got %+v, want %+v", st.in.Seq, st.in.Window, got, st.want)
		}
		loaded, err := b.Load(ctx, []string{"s"})
		if err != nil || loaded["s"] != st.want {
			t.Fatalf("Load after Store(seq %d, window %v): got (%+v, %v), want %+v", st.in.Seq, st.in.Window, loaded["s"], err, st.want)
		}
	}
}
