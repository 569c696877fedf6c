package shard

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/lastevent/lastevent/core"
)

// Delete forgets session for good, for a session that has ended: its
// checkpoint is deleted from the backend, it leaves memory, and a checkpoint
// of it not yet stored is dropped, never written afterwards. A later Observe
// starts the session again at Seq 1.
//
// The session's flusher carries it out between two of its flush cycles, so
// no write of the session can land after the backend's delete. It takes the
// session out of memory first and then deletes the stored copy, so a read of
// the backend while Delete runs may still see that copy; a Resume that
// loaded it meanwhile loads again. An Observe racing Delete either belongs
// to the deleted history or starts the new one. If the backend's Delete
// fails (the error wraps it; ErrBreakerOpen while the shard's breaker is
// open; core.ErrPermanent if it panicked), the session has left memory
// anyway and no write of it is pending: call Delete again. It returns
// ErrClosed after Close, and ctx.Err() if ctx ends before the flusher takes
// the request.
func (t *Tracker) Delete(ctx context.Context, session string) error {
	if t.closed.Load() {
		return ErrClosed
	}
	if err := core.ValidateSession(session); err != nil {
		return err
	}
	s := t.shardOf(session)
	r := &request{kind: requestDelete, ctx: ctx, session: session, done: make(chan error, 1)}
	select {
	case s.reqs <- r:
	case <-ctx.Done():
		return ctx.Err()
	case <-t.stopped:
		return ErrClosed
	}
	return <-r.done
}

// deletions tells Resume about the shard's Deletes: how many ran (odd while
// one runs) and a channel closed when the running one ends, so a Resume
// that meets one waits for that signal rather than polling.
type deletions struct {
	phases atomic.Uint64                 // +1 when a Delete starts and when it ends
	done   atomic.Pointer[chan struct{}] // closed when the Delete that made phases odd ends
}

// settled returns the phase count once no Delete runs, waiting for the
// running one's end or ctx.
func (d *deletions) settled(ctx context.Context) (uint64, error) {
	for {
		n := d.phases.Load()
		if n&1 == 0 {
			return n, nil
		}
		// done was stored before phases turned odd: it is this Delete's,
		// or a later one's.
		select {
		case <-*d.done.Load():
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

// begin and end bracket one Delete on the flusher.
func (d *deletions) begin() (end func()) {
	done := make(chan struct{})
	d.done.Store(&done)
	d.phases.Add(1)
	return func() {
		d.phases.Add(1)
		close(done)
	}
}

// delete runs on the flusher: it makes the session's entry deleted under
// its writer flag (take, the retry queue and the sweep drop such entries, so
// nothing of it is written again), removes it from the map, then deletes
// the stored checkpoint through the gate.
func (s *shard) delete(r *request) error {
	// A Resume that loaded meanwhile loads again (deletions.settled), so it
	// cannot adopt the checkpoint being deleted.
	defer s.status.deletes.begin()()
	if e, ok := s.sessions.Load(r.session); ok {
		e.Lock()
		failing := e.failing()
		e.deleteLocked()
		e.Unlock()
		s.remove(e, func() bool { return true })
		if failing {
			// Out of the retry queue now, so neither Flush nor Close
			// waits for a session that no longer exists.
			s.retries.drop(e)
			e.failedSince = 0
			s.status.failing.Store(int64(s.retries.Len()))
		}
	}
	if err := s.deleteStored(r.ctx, r.session); err != nil {
		return fmt.Errorf("lastevent: delete %q: %w", r.session, err)
	}
	return nil
}
