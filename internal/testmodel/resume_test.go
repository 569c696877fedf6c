package testmodel

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/lastevent/lastevent/backends/fault"
	"github.com/lastevent/lastevent/backends/memory"
	"github.com/lastevent/lastevent/core"
	"github.com/lastevent/lastevent/shard"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestResumeRetriesOnlyTheBreaker: after an outage opened the breaker,
// Resume without retries returns its refusal, with retries it waits for the
// probe and loads the stored checkpoint; a real Load failure is returned at
// once either way.
func TestResumeRetriesOnlyTheBreaker(t *testing.T) {
	want := core.Checkpoint{Session: "s", EventID: "e7", Seq: 7}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, faults, tr := breakerSetup(ctx, t, want)

	faults.StartOutage(0)
	if _, err := Resume(ctx, tr, "s", time.Millisecond, true); !errors.Is(err, core.ErrRetryable) || errors.Is(err, shard.ErrBreakerOpen) {
		t.Fatalf("Resume during an outage: got %v, want the Load failure", err)
	}
	if err := faults.Set(fault.Config{}); err != nil {
		t.Fatal(err)
	}
	if _, err := Resume(ctx, tr, "s", time.Millisecond, false); !errors.Is(err, shard.ErrBreakerOpen) {
		t.Fatalf("Resume without retries while the breaker is open: got %v, want ErrBreakerOpen", err)
	}
	cp, err := Resume(ctx, tr, "s", time.Millisecond, true)
	if err != nil || cp != want {
		t.Fatalf("Resume with retries after healing: got (%+v, %v), want (%+v, nil)", cp, err, want)
	}
}

// TestDeleteRetriesOnlyTheBreaker: the same contract for Delete. During an
// outage the backend's failure is returned at once; after healing, without
// retries the open breaker's refusal is returned, with retries Delete waits
// for the probe and the stored checkpoint is gone.
func TestDeleteRetriesOnlyTheBreaker(t *testing.T) {
	want := core.Checkpoint{Session: "s", EventID: "e7", Seq: 7}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	store, faults, tr := breakerSetup(ctx, t, want)

	faults.StartOutage(0)
	if err := Delete(ctx, tr, "s", time.Millisecond, true); !errors.Is(err, fault.ErrOutage) || errors.Is(err, shard.ErrBreakerOpen) {
		t.Fatalf("Delete during an outage: got %v, want the backend's failure", err)
	}
	if err := faults.Set(fault.Config{}); err != nil {
		t.Fatal(err)
	}
	if err := Delete(ctx, tr, "s", time.Millisecond, false); !errors.Is(err, shard.ErrBreakerOpen) {
		t.Fatalf("Delete without retries while the breaker is open: got %v, want ErrBreakerOpen", err)
	}
	if _, ok := store.Get("s"); !ok {
		t.Fatal("stored checkpoint after two failed Deletes: gone, want kept")
	}
	if err := Delete(ctx, tr, "s", time.Millisecond, true); err != nil {
		t.Fatalf("Delete with retries after healing: got %v, want nil", err)
	}
	if cp, ok := store.Get("s"); ok {
		t.Fatalf("stored checkpoint after Delete returned nil: got %+v, want none", cp)
	}
}

// breakerSetup stores cp in a memory store and starts a one-shard Tracker on
// a fault.Backend over it, with a breaker that opens after one failed call
// and probes 200ms later. The Tracker is closed when the test ends.
func breakerSetup(ctx context.Context, t *testing.T, cp core.Checkpoint) (*memory.Backend, *fault.Backend, *shard.Tracker) {
	t.Helper()
	store := memory.New()
	results := make([]core.Result, 1)
	store.Store(ctx, []core.Checkpoint{cp}, results)
	if !results[0].Stored() {
		t.Fatalf("seeding the store: %+v", results[0])
	}
	faults := fault.New(store, fault.Config{Seed: 1})
	tr, err := shard.New(faults, shard.Config{Shards: 1, BreakerThreshold: 1, BreakerResetTimeout: 200 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close(context.Background()) })
	return store, faults, tr
}
