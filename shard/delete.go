package shard

import (
	"context"
	"fmt"
	"time"

	"github.com/lastevent/lastevent/core"
	"github.com/lastevent/lastevent/internal/backoff"
)

// deletionEpoch returns the shard's count of delete phases once no Delete
// is running (the count is even), waiting on a timer or ctx while one runs.
func (s *shard) deletionEpoch(ctx context.Context) (uint64, error) {
	for {
		n := s.status.deletions.Load()
		if n&1 == 0 {
			return n, nil
		}
		if err := backoff.Wait(ctx, time.Millisecond, nil); err != nil {
			return 0, err
		}
	}
}

// deleteReq is one Tracker.Delete, carried out by the session's flusher.
type deleteReq struct {
	ctx     context.Context
	session string
	done    chan error // cap 1
}

// Delete forgets session for good, for a session that has ended: its
// checkpoint is deleted from the backend, it leaves memory, and a checkpoint
// of it not yet stored is dropped, never written afterwards. A later Observe
// starts the session again at Seq 1.
//
// The session's flusher carries it out between two of its flush cycles, so
// no write of the session can land after the backend's delete. It takes the
// session out of memory first and then deletes the stored copy, so a read of
// the backend while Delete runs may still see that copy; a Resume that
// loaded it meanwhile loads again. An Observe
// racing Delete either belongs to the deleted history or starts the new one.
// If the backend's Delete fails (the error wraps it; ErrBreakerOpen while
// the shard's breaker is open), the session has left memory anyway and no
// write of it is pending: call Delete again. It returns ErrClosed after
// Close, and ctx.Err() if ctx ends before the flusher takes the request.
func (t *Tracker) Delete(ctx context.Context, session string) error {
	if t.closed.Load() {
		return ErrClosed
	}
	if err := core.ValidateSession(session); err != nil {
		return err
	}
	s := t.shardOf(session)
	r := &deleteReq{ctx: ctx, session: session, done: make(chan error, 1)}
	select {
	case s.deletes <- r:
	case <-ctx.Done():
		return ctx.Err()
	case <-t.stopped:
		return ErrClosed
	}
	return <-r.done
}

// delete runs on the flusher: it marks the session's entry deleted under
// its writer flag (take, the retry queue and the sweep drop such entries, so
// nothing of it is written again), removes it from the map, then deletes the
// stored checkpoint through the breaker.
func (s *shard) delete(r *deleteReq) error {
	// Odd while a delete runs: a Resume that loaded meanwhile loads again
	// (see deletionEpoch), so it cannot adopt the checkpoint being deleted.
	s.status.deletions.Add(1)
	defer s.status.deletions.Add(1)
	if e, ok := s.sessions.Load(r.session); ok {
		e.Lock()
		e.state.Or(stateDeleted)
		e.Unlock()
		s.remove(e, func() bool { return true })
		if e.failedSince != 0 {
			// Out of the retry queue now, so neither Flush nor Close
			// waits for a session that no longer exists.
			s.retries.drop(e)
			e.failedSince = 0
			s.status.unflushed.Store(int64(s.retries.Len()))
		}
	}
	done, err := s.breaker.allow()
	if err != nil {
		return fmt.Errorf("lastevent: delete %q: %w", r.session, err)
	}
	ctx, cancel := context.WithTimeout(r.ctx, s.cfg.StoreTimeout)
	defer cancel()
	err = s.backend.Delete(ctx, r.session)
	done(err == nil || !core.IsRetryable(err))
	if err != nil {
		return fmt.Errorf("lastevent: delete %q: %w", r.session, err)
	}
	return nil
}
