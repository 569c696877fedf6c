package shard

import (
	"container/heap"
	"context"
	"errors"
	"log/slog"
	"math"
	"time"

	"github.com/lastevent/lastevent/core"
	"github.com/lastevent/lastevent/internal/backoff"
)

// file is the one way an entry whose write or load did not succeed waits
// for another attempt; it makes the entry failing (lifecycle.go). If the
// breaker refused the call (err wraps ErrBreakerOpen), nothing was
// attempted: the entry waits for the breaker's reset timeout, no attempt is
// counted and no failure is reported per session (the breaker's opening
// was). Otherwise the failure is counted and reported, and the entry is
// retried after a backoff with full jitter, or after RetryMaxDelay for a
// permanent failure. Either way a retry writes the newest checkpoint.
func (s *shard) file(e *entry, cp core.Checkpoint, err error, now int64) {
	s.status.lastErr.Store(&err)
	if e.failedSince == 0 {
		e.failedSince = s.gen
	}
	if errors.Is(err, ErrBreakerOpen) {
		s.counts.deferred.Add(1)
		s.retries.schedule(e, now+int64(s.cfg.BreakerResetTimeout))
		return
	}
	if e.attempts < math.MaxUint16 {
		e.attempts++
	}
	permanent := !core.IsRetryable(err)
	if permanent {
		s.counts.failures[classPerm].Add(1)
	} else {
		s.counts.failures[classRetry].Add(1)
	}
	d := retryDelay(int(e.attempts), permanent, s.cfg.RetryBaseDelay, s.cfg.RetryMaxDelay)
	s.retries.schedule(e, now+int64(d))
	s.reportFailure(cp, int(e.attempts), d, err)
}

// succeeded records that e's newest checkpoint is durable (or that it has
// nothing newer to write): it is no longer failing.
func (s *shard) succeeded(e *entry) {
	e.failedSince, e.attempts = 0, 0
	if e.failing() {
		e.stopFailing()
	}
}

func (s *shard) reportFailure(cp core.Checkpoint, attempt int, retryIn time.Duration, err error) {
	if s.cfg.OnError != nil {
		s.cfg.OnError(WriteFailure{Session: cp.Session, Seq: cp.Seq, Attempt: attempt, Err: err, Retry: true, RetryIn: retryIn})
	}
	if n, ok := s.logs.allow(time.Now()); ok {
		level := slog.LevelWarn
		if !core.IsRetryable(err) {
			level = slog.LevelError
		}
		s.cfg.Logger.Log(context.Background(), level, "lastevent: checkpoint write failed; will retry",
			"session", cp.Session, "seq", cp.Seq, "attempt", attempt, "error", err,
			"retryable", core.IsRetryable(err), "retry_in", retryIn, "suppressed", n)
	}
}

// retryQueue is a shard's failing entries, a min-heap by retryAt.
// Flusher-owned. An entry is in it exactly while it is failing.
type retryQueue []*entry

func (q retryQueue) Len() int           { return len(q) }
func (q retryQueue) Less(i, j int) bool { return q[i].retryAt < q[j].retryAt }
func (q retryQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *retryQueue) Push(x any)        { *q = append(*q, x.(*entry)) }
func (q *retryQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	return e
}

// schedule files e for a retry at the given clock time.
func (q *retryQueue) schedule(e *entry, at int64) {
	e.retryAt = at
	e.startFailing()
	heap.Push(q, e)
}

// due pops the entries whose retry time has come (all of them when all is
// set) onto dst. They stay failing until their write settles.
func (q *retryQueue) due(dst []*entry, now int64, all bool) []*entry {
	for q.Len() > 0 && (all || (*q)[0].retryAt <= now) {
		e := heap.Pop(q).(*entry)
		if e.deleted() {
			e.failedSince = 0 // Tracker.Delete dropped it
			continue
		}
		dst = append(dst, e)
	}
	return dst
}

// drop removes e from the queue: O(n), for Tracker.Delete only.
func (q *retryQueue) drop(e *entry) {
	kept := (*q)[:0]
	for _, x := range *q {
		if x != e {
			kept = append(kept, x)
		}
	}
	clear((*q)[len(kept):])
	*q = kept
	heap.Init(q)
}

// oldestFailure returns the smallest failedSince in the queue, or the
// largest uint64 when it is empty.
func (q retryQueue) oldestFailure() uint64 {
	oldest := ^uint64(0)
	for _, e := range q {
		oldest = min(oldest, e.failedSince)
	}
	return oldest
}

// retryDelay is the wait before attempt+1 after attempt consecutive
// failures: full jitter over an exponentially growing cap (never zero, so a
// retry is always a new timer), or the max delay after a permanent failure.
// Full jitter spreads the retries of sessions that failed together (one
// outage) instead of sending them back in one burst.
func retryDelay(attempt int, permanent bool, base, maxDelay time.Duration) time.Duration {
	if permanent {
		return maxDelay
	}
	return backoff.FullJitter(base, maxDelay, attempt-1) + 1
}
