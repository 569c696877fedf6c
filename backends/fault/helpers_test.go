package fault_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lastevent/lastevent/backends/fault"
	"github.com/lastevent/lastevent/core"
)

// clock is a settable clock for outage tests: no test sleeps to move time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// batchOf returns n checkpoints of distinct sessions "<prefix>-<i>", Seq seq.
func batchOf(prefix string, n int, seq uint64) []core.Checkpoint {
	b := make([]core.Checkpoint, n)
	for i := range b {
		b[i] = core.Checkpoint{Session: prefix + "-" + strconv.Itoa(i), EventID: "e" + strconv.FormatUint(seq, 10), Seq: seq}
	}
	return b
}

func store(ctx context.Context, b core.Backend, batch []core.Checkpoint) []core.Result {
	results := make([]core.Result, len(batch))
	b.Store(ctx, batch, results)
	return results
}

// checkFailure fails t unless r is a failure of cp wrapping every error in
// wraps, classified as the contract says, and naming cp's session and seq.
func checkFailure(t *testing.T, cp core.Checkpoint, r core.Result, wraps ...error) {
	t.Helper()
	if r.Outcome != core.OutcomeFailed || r.Err == nil {
		t.Fatalf("%+v: got %v (%v), want failed", cp, r.Outcome, r.Err)
	}
	for _, w := range wraps {
		if !errors.Is(r.Err, w) {
			t.Fatalf("%+v: error %q does not wrap %q", cp, r.Err, w)
		}
	}
	retryable, permanent := errors.Is(r.Err, core.ErrRetryable), errors.Is(r.Err, core.ErrPermanent)
	if retryable == permanent {
		t.Fatalf("%+v: error %q wraps retryable=%v permanent=%v, want exactly one", cp, r.Err, retryable, permanent)
	}
	if name := fmt.Sprintf("session %q seq %d", cp.Session, cp.Seq); !strings.Contains(r.Err.Error(), name) {
		t.Fatalf("%+v: error %q does not name %s", cp, r.Err, name)
	}
}

// checkInvariant fails t unless every Store item is counted by exactly one
// fate.
func checkInvariant(t *testing.T, st fault.Stats) {
	t.Helper()
	sum := st.Forwarded + st.Retryable + st.Permanent + st.Throttled + st.Unprocessed + st.OutageItems + st.Canceled
	if sum != st.StoreItems {
		t.Fatalf("Stats %+v: fates add up to %d, want StoreItems %d", st, sum, st.StoreItems)
	}
	if st.LostReplies > st.Forwarded {
		t.Fatalf("Stats %+v: more lost replies than forwarded items", st)
	}
}

// within fails t unless got/n is within tol of p.
func within(t *testing.T, what string, got, n uint64, p, tol float64) {
	t.Helper()
	if r := float64(got) / float64(n); r < p-tol || r > p+tol {
		t.Fatalf("%s: %d of %d = %.4f, want %.2f ± %.2f", what, got, n, r, p, tol)
	}
}
