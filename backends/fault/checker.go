package fault

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/puzpuzpuz/xsync/v3"

	"github.com/lastevent/lastevent/core"
)

// maxKept bounds the regressions a Checker keeps for Regressions; it counts
// every one.
const maxKept = 100

// Checker is a core.Backend that forwards to another one and checks that
// stored checkpoints never move backwards. It records, per session, the
// highest checkpoint the next backend reported written, and counts a
// regression when:
//
//   - the next backend reports written a checkpoint with a lower Seq than
//     one it reported written before, or the same Seq with another event
//     ID (re-writing the identical checkpoint is not a regression);
//   - a Load returns, for a session, a checkpoint older than one reported
//     written before that Load began, or none at all.
//
// A successful Delete forgets the session, which may then start again from
// Seq 1. Put the Checker next to the real store and faults outside it,
// fault.New(fault.NewChecker(store), cfg), so it sees what was really
// written and Verify reads the store without faults.
//
// A Checker is safe for concurrent use, but a Delete racing a Store of the
// same session may be misjudged (the tracker never does this). It holds one
// map entry per session ever written, so it is a test tool, not something
// to leave in production. It starts no goroutines; do not copy it.
type Checker struct {
	next core.Backend
	high *xsync.MapOf[string, core.Checkpoint] // highest written, per session

	mu    sync.Mutex // guards kept
	kept  []Regression
	count atomic.Uint64 // every regression, kept or not

	stores, items, written, stale, failedItems atomic.Uint64
}

// Regression is one checkpoint that moved backwards.
type Regression struct {
	// Op is "store" (the next backend reported Got written) or "load" (a
	// Load returned Got, absent if Got is zero).
	Op string
	// Had is the highest checkpoint reported written before.
	Had core.Checkpoint
	// Got is the older or conflicting checkpoint.
	Got core.Checkpoint
}

// String describes the regression: session, the Seq written and the higher one before it.
func (r Regression) String() string {
	return fmt.Sprintf("%s of session %q: got seq %d event %q after seq %d event %q was written",
		r.Op, r.Had.Session, r.Got.Seq, r.Got.EventID, r.Had.Seq, r.Had.EventID)
}

// NewChecker wraps next.
func NewChecker(next core.Backend) *Checker {
	return &Checker{next: next, high: xsync.NewMapOf[string, core.Checkpoint]()}
}

// Store forwards the batch, then records every item reported written.
func (c *Checker) Store(ctx context.Context, batch []core.Checkpoint, results []core.Result) {
	c.next.Store(ctx, batch, results)
	c.stores.Add(1)
	c.items.Add(uint64(len(batch)))
	var written, stale, failed uint64
	for i, r := range results {
		switch r.Outcome {
		case core.OutcomeWritten:
			written++
			c.record(batch[i])
		case core.OutcomeStale:
			stale++
		default:
			failed++
		}
	}
	c.written.Add(written)
	c.stale.Add(stale)
	c.failedItems.Add(failed)
}

// record makes cp the session's highest written checkpoint, or counts a
// regression when it is older than (or conflicts with) the recorded one.
func (c *Checker) record(cp core.Checkpoint) {
	var had core.Checkpoint
	regressed := false
	c.high.Compute(cp.Session, func(old core.Checkpoint, loaded bool) (core.Checkpoint, bool) {
		if loaded && backwards(old, cp) {
			had, regressed = old, true
			return old, false
		}
		return cp, false
	})
	if regressed {
		c.regress(Regression{Op: "store", Had: had, Got: cp})
	}
}

// backwards reports whether got, written or loaded after had was written,
// moves the session backwards: a lower Seq, or the same Seq naming another
// event.
func backwards(had, got core.Checkpoint) bool {
	return got.Seq < had.Seq || (got.Seq == had.Seq && got.EventID != had.EventID)
}

func (c *Checker) regress(r Regression) {
	c.count.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.kept) < maxKept {
		c.kept = append(c.kept, r)
	}
}

// Load forwards the call and checks each returned checkpoint against the
// highest one recorded before the call began (a write recorded during the
// call may or may not be visible to it).
func (c *Checker) Load(ctx context.Context, sessions []string) (map[string]core.Checkpoint, error) {
	var before []core.Checkpoint
	for _, s := range sessions {
		if cp, ok := c.high.Load(s); ok {
			before = append(before, cp)
		}
	}
	got, err := c.next.Load(ctx, sessions)
	if err != nil {
		return got, err
	}
	for _, had := range before {
		if cp, ok := got[had.Session]; !ok || backwards(had, cp) {
			c.regress(Regression{Op: "load", Had: had, Got: cp})
		}
	}
	return got, nil
}

// Delete forwards the call; when it succeeds the session is forgotten.
func (c *Checker) Delete(ctx context.Context, session string) error {
	if err := c.next.Delete(ctx, session); err != nil {
		return err
	}
	c.high.Delete(session)
	return nil
}

// Stored returns the highest checkpoint of session the next backend
// reported written, as recorded by the Checker.
func (c *Checker) Stored(session string) (core.Checkpoint, bool) {
	return c.high.Load(session)
}

// Regressions returns the first regressions found (at most 100), in the
// order found. The caller owns the slice.
func (c *Checker) Regressions() []Regression {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Regression(nil), c.kept...)
}

// Err returns nil if no regression was found, else an error wrapping
// ErrRegression with their number and the first.
func (c *Checker) Err() error {
	n := c.count.Load()
	if n == 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.kept) == 0 { // counted, not yet kept: regress is between the two
		return fmt.Errorf("%w: %d found", ErrRegression, n)
	}
	return fmt.Errorf("%w: %d found, first: %v", ErrRegression, n, c.kept[0])
}

// CheckerStats counts what a Checker saw.
type CheckerStats struct {
	StoreCalls  uint64 // Store calls forwarded
	Items       uint64 // checkpoints in them
	Written     uint64 // reported written
	Stale       uint64 // reported stale
	Failed      uint64 // reported failed, or left unfilled
	Sessions    int    // sessions with a recorded written checkpoint
	Regressions uint64 // regressions found
}

// Stats returns the counters. Each is read atomically; together they are not
// a snapshot while calls are in flight.
func (c *Checker) Stats() CheckerStats {
	return CheckerStats{
		StoreCalls: c.stores.Load(), Items: c.items.Load(), Written: c.written.Load(),
		Stale: c.stale.Load(), Failed: c.failedItems.Load(), Sessions: c.high.Size(),
		Regressions: c.count.Load(),
	}
}

var _ core.Backend = (*Checker)(nil)
