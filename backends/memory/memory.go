package memory

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/puzpuzpuz/xsync/v3"

	"github.com/lastevent/lastevent/core"
)

// Backend is an in-process core.Backend: a concurrent map of the newest
// checkpoint per session. It is the embedded default, the reference for the
// Backend contract, and what tests read back to check what was stored.
//
// It is safe for concurrent use; the zero value is not usable, call New. Its
// contents live as long as the Backend: a process restart loses them.
type Backend struct {
	m       *xsync.MapOf[string, core.Checkpoint]
	writes  atomic.Uint64
	stale   atomic.Uint64
	loads   atomic.Uint64
	deletes atomic.Uint64
}

// New returns an empty memory backend.
func New() *Backend {
	return &Backend{m: xsync.NewMapOf[string, core.Checkpoint]()}
}

// Store applies each checkpoint whose Seq is higher than the stored one and
// reports the rest stale. It stores the whole value, Window included, so a
// written checkpoint replaces the stored window (an empty Window leaves
// none) and a stale one leaves it as it was. When ctx has ended, the
// remaining items fail with a retryable error. A checkpoint with an empty
// session or Seq 0, or whose Window fails core.Checkpoint.CheckWindow (the
// error then wraps core.ErrInvalidWindow), fails permanently and changes
// nothing: no tracker produces one.
func (b *Backend) Store(ctx context.Context, batch []core.Checkpoint, results []core.Result) {
	for i, cp := range batch {
		if err := ctx.Err(); err != nil {
			results[i] = core.Result{Outcome: core.OutcomeFailed,
				Err: fmt.Errorf("%w: memory: session %q seq %d: %w", core.ErrRetryable, cp.Session, cp.Seq, err)}
			continue
		}
		if cp.Session == "" || cp.Seq == 0 {
			results[i] = core.Result{Outcome: core.OutcomeFailed,
				Err: fmt.Errorf("%w: memory: session %q seq %d: empty session or zero seq", core.ErrPermanent, cp.Session, cp.Seq)}
			continue
		}
		// Checked on the way in, so Load never meets a window it must
		// refuse: only Store writes the map.
		if err := cp.CheckWindow(); err != nil {
			results[i] = core.Result{Outcome: core.OutcomeFailed,
				Err: fmt.Errorf("%w: memory: session %q seq %d: %w", core.ErrPermanent, cp.Session, cp.Seq, err)}
			continue
		}
		written := false
		b.m.Compute(cp.Session, func(old core.Checkpoint, loaded bool) (core.Checkpoint, bool) {
			if loaded && old.Seq >= cp.Seq {
				return old, false
			}
			written = true
			return cp, false
		})
		if written {
			b.writes.Add(1)
			results[i] = core.Result{Outcome: core.OutcomeWritten}
		} else {
			b.stale.Add(1)
			results[i] = core.Result{Outcome: core.OutcomeStale}
		}
	}
}

// Load returns the stored checkpoints of the named sessions that have one,
// each with the Window it was stored with. It never fails on a stored
// window: Store admits only windows that pass CheckWindow.
func (b *Backend) Load(ctx context.Context, sessions []string) (map[string]core.Checkpoint, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%w: memory: load: %w", core.ErrRetryable, err)
	}
	b.loads.Add(1)
	out := make(map[string]core.Checkpoint, len(sessions))
	for _, s := range sessions {
		if cp, ok := b.m.Load(s); ok {
			out[s] = cp
		}
	}
	return out, nil
}

// Delete removes session's checkpoint; a missing session is not an error.
func (b *Backend) Delete(ctx context.Context, session string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w: memory: delete %q: %w", core.ErrRetryable, session, err)
	}
	b.deletes.Add(1)
	b.m.Delete(session)
	return nil
}

// Get returns the stored checkpoint of session, for tests and tools.
func (b *Backend) Get(session string) (core.Checkpoint, bool) {
	return b.m.Load(session)
}

// Len returns the number of stored sessions.
func (b *Backend) Len() int { return b.m.Size() }

// Range calls f for each stored checkpoint until f returns false. It sees
// a consistent value per session but not a snapshot of the whole map.
func (b *Backend) Range(f func(core.Checkpoint) bool) {
	b.m.Range(func(_ string, cp core.Checkpoint) bool { return f(cp) })
}

// Stats counts what the backend has done.
type Stats struct {
	Writes  uint64 // checkpoints written
	Stale   uint64 // checkpoints refused because an equal or newer Seq was stored
	Loads   uint64 // Load calls
	Deletes uint64 // Delete calls
}

// Stats returns the counters. Each is read atomically; together they are not
// a snapshot.
func (b *Backend) Stats() Stats {
	return Stats{Writes: b.writes.Load(), Stale: b.stale.Load(), Loads: b.loads.Load(), Deletes: b.deletes.Load()}
}

var _ core.Backend = (*Backend)(nil)
