package main

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/lastevent/lastevent/core"
)

// errCutOff is what every backend call fails with once a run has passed its
// deadline (-duration + -close-timeout).
var errCutOff = errors.New("loadgen: run past its deadline (-duration + -close-timeout): backend call cut short")

// cutoff sits between the checking backend and the store in every run, so
// that a run ends in bounded time even when what it drives does not: a
// design that holds a lock while it waits on the store (mutexmap) blocks
// Observe and Close for as long as the store takes, which with thousands of
// sessions and milliseconds per call is minutes. At the deadline, cut ends
// the context of every call in flight (the fault layer, -store-latency and
// the DynamoDB and Redis clients all honour it) and fails every later call
// at once, retryable, so the blocked design gets its lock back, its Observes
// return and its Close reports what it could not store.
//
// Until cut, each call costs a derived context: an allocation or two per
// Store, on the flusher's path, never on Observe's. Safe for concurrent use.
type cutoff struct {
	next    core.Backend
	ctx     context.Context // ends at cut
	cancel  context.CancelFunc
	cut     atomic.Bool
	refused atomic.Uint64 // calls failed at once after the cut
}

func newCutoff(next core.Backend) *cutoff {
	ctx, cancel := context.WithCancel(context.Background())
	return &cutoff{next: next, ctx: ctx, cancel: cancel}
}

// cutNow cuts every call in flight short and fails every later one. It
// reports whether this call did it (false when it had been cut already).
func (c *cutoff) cutNow() bool {
	if c.cut.Swap(true) {
		return false
	}
	c.cancel()
	return true
}

// release frees the context without counting as a cut; call it when the
// run is over.
func (c *cutoff) release() { c.cancel() }

// bind returns ctx, also ended by the cut.
func (c *cutoff) bind(ctx context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	stop := context.AfterFunc(c.ctx, func() { cancel(errCutOff) })
	return ctx, func() { stop(); cancel(nil) }
}

func (c *cutoff) Store(ctx context.Context, batch []core.Checkpoint, results []core.Result) {
	if c.cut.Load() {
		c.refused.Add(1)
		for i, cp := range batch {
			results[i] = core.Result{Outcome: core.OutcomeFailed,
				Err: fmt.Errorf("%w: session %q seq %d: %w", core.ErrRetryable, cp.Session, cp.Seq, errCutOff)}
		}
		return
	}
	ctx, done := c.bind(ctx)
	defer done()
	c.next.Store(ctx, batch, results)
}

func (c *cutoff) Load(ctx context.Context, sessions []string) (map[string]core.Checkpoint, error) {
	if c.cut.Load() {
		c.refused.Add(1)
		return nil, fmt.Errorf("%w: %w", core.ErrRetryable, errCutOff)
	}
	ctx, done := c.bind(ctx)
	defer done()
	return c.next.Load(ctx, sessions)
}

func (c *cutoff) Delete(ctx context.Context, session string) error {
	if c.cut.Load() {
		c.refused.Add(1)
		return fmt.Errorf("%w: session %q: %w", core.ErrRetryable, session, errCutOff)
	}
	ctx, done := c.bind(ctx)
	defer done()
	return c.next.Delete(ctx, session)
}

var _ core.Backend = (*cutoff)(nil)
