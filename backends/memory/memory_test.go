package memory_test

import (
	"context"
	"errors"
	"strconv"
	"testing"

	"github.com/lastevent/lastevent/backends/backendtest"
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
