package property

import (
	"context"
	"sync"
	"testing"

	"github.com/lastevent/lastevent/backends/memory"
	"github.com/lastevent/lastevent/core"
	"github.com/lastevent/lastevent/shard"
)

// writeThenHold applies a Store, then holds the call open until released:
// the window between the backend applying a session's checkpoint and the
// flusher learning that it did.
type writeThenHold struct {
	*memory.Backend
	written chan struct{} // closed when the first Store has been applied
	release chan struct{}
	once    sync.Once
}

func (b *writeThenHold) Store(ctx context.Context, batch []core.Checkpoint, results []core.Result) {
	b.Backend.Store(ctx, batch, results)
	b.once.Do(func() { close(b.written) })
	select {
	case <-b.release:
	case <-ctx.Done():
	}
}

// TestResumeDuringOwnFirstWrite: a session observed before any Resume is
// resumed while its own first write is applied but not yet acknowledged.
// The stored checkpoint is the tracker's own, so Resume must keep the Seq;
// before the flusher adopted a session ahead of its first write, Resume
// took it for older history and renumbered Seq 3 to 6 (a gap of three).
func TestResumeDuringOwnFirstWrite(t *testing.T) {
	b := &writeThenHold{Backend: memory.New(), written: make(chan struct{}), release: make(chan struct{})}
	tr := newLinTracker(t, b, shard.Config{Shards: 1, FlushInterval: generous, MaxBatch: 256})
	for _, id := range []string{"e1", "e2", "e3"} {
		if ok, err := tr.Observe("s", id); !ok || err != nil {
			t.Fatalf("Observe(s, %s): got (%t, %v), want (true, nil)", id, ok, err)
		}
	}
	flushed := make(chan error, 1)
	go func() {
		ctx, cancel := contextWithTimeout(generous)
		defer cancel()
		flushed <- tr.Flush(ctx)
	}()
	var releaseOnce sync.Once
	release := func() { releaseOnce.Do(func() { close(b.release) }) }
	defer release()
	ctx, cancel := contextWithTimeout(generous)
	defer cancel()
	select {
	case <-b.written:
	case <-ctx.Done():
		t.Fatal("Flush never called Store")
	}
	cp, err := tr.Resume(ctx, "s")
	release()
	if err := <-flushed; err != nil {
		t.Errorf("Flush: %v", err)
	}
	want := core.Checkpoint{Session: "s", EventID: "e3", Seq: 3}
	if err != nil || cp != want {
		t.Fatalf("Resume while its own first write is in flight: got (%+v, %v), want (%+v, nil)", cp, err, want)
	}
	if got, _ := tr.Checkpoint("s"); got != want {
		t.Fatalf("Checkpoint after Resume: got %+v, want %+v", got, want)
	}
}
