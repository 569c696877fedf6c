package mutexmap_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/lastevent/lastevent/backends/memory"
	"github.com/lastevent/lastevent/bench/baseline/mutexmap"
	"github.com/lastevent/lastevent/core"
)

// TestMain fails the package if Close leaves the ticker goroutine running.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestAcceptsReplaysAndCloseWritesEveryEntry(t *testing.T) {
	mem := memory.New()
	c := mutexmap.New(mem, time.Hour)
	for _, id := range []string{"1", "2", "1"} {
		if ok, err := c.Observe("a", id); !ok || err != nil {
			t.Fatalf("Observe(a, %s): got %v %v, want accepted: no dedup", id, ok, err)
		}
	}
	if _, err := c.Observe("b", "9"); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// The replayed "1" moved the checkpoint: Seq 3.
	if got, want := must(mem.Get("a")), (core.Checkpoint{Session: "a", EventID: "1", Seq: 3}); got != want {
		t.Fatalf("a: got %+v, want %+v", got, want)
	}
	if got, want := must(mem.Get("b")), (core.Checkpoint{Session: "b", EventID: "9", Seq: 1}); got != want {
		t.Fatalf("b: got %+v, want %+v", got, want)
	}
	if _, err := c.Observe("a", "4"); !errors.Is(err, mutexmap.ErrClosed) {
		t.Fatalf("Observe after Close: got %v, want ErrClosed", err)
	}
}

// counting counts Store calls and signals each one.
type counting struct {
	next  core.Backend
	calls chan core.Checkpoint
}

func (c *counting) Store(ctx context.Context, b []core.Checkpoint, r []core.Result) {
	c.next.Store(ctx, b, r)
	for _, cp := range b {
		select {
		case c.calls <- cp:
		default:
		}
	}
}
func (c *counting) Load(ctx context.Context, s []string) (map[string]core.Checkpoint, error) {
	return c.next.Load(ctx, s)
}
func (c *counting) Delete(ctx context.Context, s string) error { return c.next.Delete(ctx, s) }

func TestEveryTickWritesUnchangedEntries(t *testing.T) {
	b := &counting{next: memory.New(), calls: make(chan core.Checkpoint, 64)}
	c := mutexmap.New(b, time.Millisecond)
	defer c.Close(context.Background())
	if _, err := c.Observe("a", "1"); err != nil {
		t.Fatal(err)
	}
	// No further event: every tick still writes "a" again.
	deadline := time.After(5 * time.Second)
	for n := 0; n < 3; n++ {
		select {
		case cp := <-b.calls:
			if cp.Session != "a" || cp.Seq != 1 {
				t.Fatalf("write %d: got %+v, want session a seq 1", n, cp)
			}
		case <-deadline:
			t.Fatalf("only %d writes of an unchanged entry in 5s, want 3", n)
		}
	}
}

type failing struct{}

func (failing) Store(_ context.Context, b []core.Checkpoint, r []core.Result) {
	for i := range b {
		r[i] = core.Result{Outcome: core.OutcomeFailed, Err: core.ErrPermanent}
	}
}
func (failing) Load(context.Context, []string) (map[string]core.Checkpoint, error) { return nil, nil }
func (failing) Delete(context.Context, string) error                               { return nil }

func TestCloseReturnsTheFinalWriteError(t *testing.T) {
	c := mutexmap.New(failing{}, time.Hour)
	if _, err := c.Observe("a", "1"); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(context.Background()); !errors.Is(err, core.ErrPermanent) {
		t.Fatalf("Close: got %v, want an error wrapping ErrPermanent", err)
	}
}

func must(cp core.Checkpoint, ok bool) core.Checkpoint {
	if !ok {
		return core.Checkpoint{}
	}
	return cp
}
