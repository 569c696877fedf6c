package taskperevent_test

import (
	"context"
	"errors"
	"runtime/metrics"
	"strconv"
	"sync/atomic"
	"testing"

	"go.uber.org/goleak"

	"github.com/lastevent/lastevent/backends/memory"
	"github.com/lastevent/lastevent/bench/baseline/taskperevent"
	"github.com/lastevent/lastevent/core"
)

// TestMain fails the package if a test leaves a per-event goroutine behind:
// Close must wait for all of them.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestDeduplicatesWithinWindowAndStoresNewest(t *testing.T) {
	mem := memory.New()
	tr := taskperevent.New(mem, 2)
	steps := []struct {
		id   string
		want bool
	}{{"1", true}, {"1", false}, {"2", true}, {"1", false}, {"3", true}, {"1", true}, {"3", false}}
	for i, s := range steps {
		got, err := tr.Observe("s", s.id)
		if err != nil || got != s.want {
			t.Fatalf("step %d Observe(%q): got accepted=%v err=%v, want accepted=%v", i, s.id, got, err, s.want)
		}
	}
	if id, ok := tr.LastEventID("s"); !ok || id != "1" {
		t.Fatalf("LastEventID: got %q %v, want \"1\" true", id, ok)
	}
	if err := tr.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// Close waited for every per-event goroutine, so the newest is stored.
	want := core.Checkpoint{Session: "s", EventID: "1", Seq: 4}
	if got, _ := mem.Get("s"); got != want {
		t.Fatalf("stored: got %+v, want %+v", got, want)
	}
	if st := mem.Stats(); st.Writes+st.Stale != 4 {
		t.Fatalf("backend writes+stale: got %d, want 4 (one per accepted event)", st.Writes+st.Stale)
	}
}

func TestOneGoroutinePerAcceptedEvent(t *testing.T) {
	tr := taskperevent.New(memory.New(), taskperevent.DefaultWindow)
	defer tr.Close(context.Background())
	before := created(t)
	const n = 500
	for i := range n {
		if ok, err := tr.Observe("s", strconv.Itoa(i)); !ok || err != nil {
			t.Fatalf("Observe %d: got %v %v, want accepted", i, ok, err)
		}
		if ok, _ := tr.Observe("s", strconv.Itoa(i)); ok {
			t.Fatalf("replay of %d accepted", i)
		}
	}
	tr.Drain()
	if got := created(t) - before; got < n {
		t.Fatalf("goroutines created for %d accepted events: got %d, want >= %d", n, got, n)
	}
}

// failing reports every item failed; the design never learns it.
type failing struct{ calls atomic.Int64 }

func (f *failing) Store(_ context.Context, b []core.Checkpoint, r []core.Result) {
	f.calls.Add(1)
	for i := range b {
		r[i] = core.Result{Outcome: core.OutcomeFailed, Err: core.ErrPermanent}
	}
}
func (f *failing) Load(context.Context, []string) (map[string]core.Checkpoint, error) {
	return nil, nil
}
func (f *failing) Delete(context.Context, string) error { return nil }

func TestDropsWriteErrors(t *testing.T) {
	f := &failing{}
	tr := taskperevent.New(f, 8)
	if ok, err := tr.Observe("s", "1"); !ok || err != nil {
		t.Fatalf("Observe: got %v %v, want accepted and no error although the backend fails", ok, err)
	}
	if err := tr.Close(context.Background()); err != nil {
		t.Fatalf("Close: got %v, want nil: the design drops write errors", err)
	}
	if f.calls.Load() != 1 {
		t.Fatalf("Store calls: got %d, want 1", f.calls.Load())
	}
}

func TestSeedEqualsObserving(t *testing.T) {
	tr := taskperevent.New(memory.New(), 2)
	defer tr.Close(context.Background())
	if err := tr.Seed("s", []string{"1", "2", "3"}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		id   string
		want bool
	}{{"2", false}, {"3", false}, {"1", true}} {
		if got, err := tr.Observe("s", c.id); got != c.want || err != nil {
			t.Fatalf("Observe(%q) after Seed: got %v %v, want %v", c.id, got, err, c.want)
		}
	}
	if id, _ := tr.LastEventID("s"); id != "1" {
		t.Fatalf("LastEventID: got %q, want \"1\"", id)
	}
}

func TestObserveAfterClose(t *testing.T) {
	tr := taskperevent.New(memory.New(), 8)
	if err := tr.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Observe("s", "1"); !errors.Is(err, taskperevent.ErrClosed) {
		t.Fatalf("Observe after Close: got %v, want ErrClosed", err)
	}
}

func created(t *testing.T) uint64 {
	t.Helper()
	s := []metrics.Sample{{Name: "/sched/goroutines-created:goroutines"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		t.Skip("runtime lacks /sched/goroutines-created")
	}
	return s[0].Value.Uint64()
}
