package property

import (
	"context"
	"sync"
	"testing"

	"github.com/lastevent/lastevent/backends/memory"
	"github.com/lastevent/lastevent/core"
	"github.com/lastevent/lastevent/internal/testmodel"
	"github.com/lastevent/lastevent/shard"
)

// readThenHold answers a Load from the store as it is when called, then
// holds the answer until released: a Load whose reply is still on the wire
// while other calls reach the store.
type readThenHold struct {
	*memory.Backend
	read    chan struct{} // closed when the first Load has read the store
	release chan struct{}
	once    sync.Once
}

func (b *readThenHold) Load(ctx context.Context, sessions []string) (map[string]core.Checkpoint, error) {
	got, err := b.Backend.Load(ctx, sessions)
	b.once.Do(func() { close(b.read) })
	select {
	case <-b.release:
	case <-ctx.Done():
	}
	return got, err
}

// TestDeleteDuringResumeLoad: Resume of a session not in memory has read
// its stored checkpoint (seq 2) when Delete of the session runs to the end;
// then the Load's answer arrives. Whichever order the two are linearized
// in, once both have returned the session must be absent from memory and
// its next event must have Seq 1: Resume first, then Delete forgets what it
// loaded; Delete first, then Resume finds nothing and returns Seq 0.
//
// This found a bug: Resume created the session's entry after its Load and
// adopted the checkpoint it loaded without noticing that a Delete ran
// meanwhile, so the deleted checkpoint came back and the next event was
// stored as Seq 3. Resume now loads again when a Delete of its shard ran
// between its Load and its adoption (the shard's deletion count).
func TestDeleteDuringResumeLoad(t *testing.T) {
	b := &readThenHold{Backend: memory.New(), read: make(chan struct{}), release: make(chan struct{})}
	ctx, cancel := contextWithTimeout(generous)
	defer cancel()
	old := []core.Checkpoint{{Session: "s", EventID: "e2", Seq: 2}}
	results := make([]core.Result, 1)
	if b.Store(ctx, old, results); !results[0].Stored() {
		t.Fatalf("seeding the store: %+v", results[0])
	}
	tr := newLinTracker(t, b, shard.Config{Shards: 1, FlushInterval: generous})

	type answer struct {
		cp  core.Checkpoint
		err error
	}
	resumed := make(chan answer, 1)
	go func() {
		cp, err := tr.Resume(ctx, "s")
		resumed <- answer{cp, err}
	}()
	var releaseOnce sync.Once
	release := func() { releaseOnce.Do(func() { close(b.release) }) }
	defer release()
	select {
	case <-b.read:
	case <-ctx.Done():
		t.Fatal("Resume never called Load")
	}
	if err := tr.Delete(ctx, "s"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	release()
	r := <-resumed
	if r.err != nil {
		t.Fatalf("Resume: %v", r.err)
	}
	if cp, ok := tr.Checkpoint("s"); ok {
		t.Errorf("Checkpoint after Delete and Resume (which returned %+v) both returned: got %+v, want none", r.cp, cp)
	}
	if ok, err := tr.Observe("s", "e9"); !ok || err != nil {
		t.Fatalf("Observe(s, e9): got (%t, %v), want (true, nil)", ok, err)
	}
	if err := tr.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	// The deleted history left nothing behind: not in the window either.
	want := core.Checkpoint{Session: "s", EventID: "e9", Seq: 1, Window: testmodel.WindowOf([]string{"e9"})}
	if got, _ := b.Get("s"); got != want {
		t.Errorf("stored after Delete, Resume and a new event: got %+v, want %+v (the session starts again at Seq 1)", got, want)
	}
}
