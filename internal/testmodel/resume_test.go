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
	store := memory.New()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	want := core.Checkpoint{Session: "s", EventID: "e7", Seq: 7}
	results := make([]core.Result, 1)
	store.Store(ctx, []core.Checkpoint{want}, results)
	if !results[0].Stored() {
		t.Fatalf("seeding the store: %+v", results[0])
	}
	faults := fault.New(store, fault.Config{Seed: 1})
	tr, err := shard.New(faults, shard.Config{Shards: 1, BreakerThreshold: 1, BreakerResetTimeout: 200 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tr.Close(ctx) }()

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
