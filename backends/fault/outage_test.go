package fault_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lastevent/lastevent/backends/fault"
	"github.com/lastevent/lastevent/backends/memory"
	"github.com/lastevent/lastevent/core"
)

// probe makes one call of each method and reports which were refused by an
// outage, failing t on any other error.
func probe(t *testing.T, fb *fault.Backend, seq uint64) (refused int) {
	t.Helper()
	ctx := context.Background()
	batch := batchOf("s", 3, seq)
	n := 0
	for i, r := range store(ctx, fb, batch) {
		if r.Outcome == core.OutcomeFailed {
			checkFailure(t, batch[i], r, fault.ErrOutage, fault.ErrInjected, core.ErrRetryable)
			n++
		}
	}
	if n != 0 && n != len(batch) {
		t.Fatalf("outage failed %d of %d items, want all or none", n, len(batch))
	}
	if n > 0 {
		refused++
	}
	for _, err := range []error{
		func() error { _, err := fb.Load(ctx, []string{"s-0"}); return err }(),
		fb.Delete(ctx, "other"),
	} {
		switch {
		case err == nil:
		case errors.Is(err, fault.ErrOutage) && errors.Is(err, core.ErrRetryable):
			refused++
		default:
			t.Fatalf("got %v, want nil or a retryable outage", err)
		}
	}
	return refused
}

func TestStartAndEndOutage(t *testing.T) {
	clk := newClock()
	mem := memory.New()
	fb := fault.New(mem, fault.Config{Now: clk.Now})
	if got := probe(t, fb, 1); got != 0 || fb.InOutage() {
		t.Fatalf("before any outage: %d calls refused, InOutage %v", got, fb.InOutage())
	}
	fb.StartOutage(10 * time.Second)
	if got := probe(t, fb, 2); got != 3 || !fb.InOutage() {
		t.Fatalf("in a 10s outage: %d of 3 calls refused, InOutage %v", got, fb.InOutage())
	}
	if got, _ := mem.Get("s-0"); got.Seq != 1 {
		t.Fatalf("next backend after a refused Store: %+v, want seq 1", got)
	}
	clk.Advance(10*time.Second - time.Nanosecond)
	if got := probe(t, fb, 3); got != 3 {
		t.Fatalf("1ns before the outage ends: %d of 3 calls refused", got)
	}
	clk.Advance(time.Nanosecond)
	if got := probe(t, fb, 4); got != 0 || fb.InOutage() {
		t.Fatalf("when the outage ends: %d calls refused, InOutage %v", got, fb.InOutage())
	}

	fb.StartOutage(0) // until EndOutage
	clk.Advance(1000 * time.Hour)
	if got := probe(t, fb, 5); got != 3 {
		t.Fatalf("endless outage 1000h on: %d of 3 calls refused", got)
	}
	fb.EndOutage()
	if got := probe(t, fb, 6); got != 0 {
		t.Fatalf("after EndOutage: %d calls refused", got)
	}
	if got, _ := mem.Get("s-0"); got.Seq != 6 {
		t.Fatalf("next backend after recovery: %+v, want seq 6", got)
	}
	st := fb.Stats()
	checkInvariant(t, st)
	if st.OutageCalls != 9 || st.OutageItems != 9 {
		t.Fatalf("Stats %+v: want 9 outage calls and 9 outage items", st)
	}
}

func TestScheduledOutage(t *testing.T) {
	clk := newClock()
	fb := fault.New(memory.New(), fault.Config{Now: clk.Now, OutageAfter: 5 * time.Second, OutageFor: 10 * time.Second})
	steps := []struct {
		advance time.Duration
		refused int
	}{
		{0, 0},
		{5*time.Second - time.Nanosecond, 0},
		{time.Nanosecond, 3}, // 5s: starts
		{10*time.Second - time.Nanosecond, 3},
		{time.Nanosecond, 0}, // 15s: over
		{time.Hour, 0},
	}
	for i, s := range steps {
		clk.Advance(s.advance)
		if got := probe(t, fb, uint64(i+1)); got != s.refused {
			t.Fatalf("step %d: %d calls refused, want %d", i, got, s.refused)
		}
	}

	// Set times a scheduled outage from the Set, and ends one in progress.
	if err := fb.Set(fault.Config{OutageFor: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if got := probe(t, fb, 10); got != 3 {
		t.Fatalf("after Set with OutageFor 1m: %d of 3 calls refused", got)
	}
	if err := fb.Set(fault.Config{}); err != nil {
		t.Fatal(err)
	}
	if got := probe(t, fb, 11); got != 0 {
		t.Fatalf("after Set(Config{}) during an outage: %d calls refused, want recovery", got)
	}
	fb.StartOutage(0)
	if err := fb.Set(fault.Config{ErrorRate: 0}); err != nil {
		t.Fatal(err)
	}
	if fb.InOutage() {
		t.Fatal("Set did not end an outage started by StartOutage")
	}
}
