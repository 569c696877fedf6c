package shard

import (
	"container/heap"
	"time"

	"github.com/lastevent/lastevent/internal/backoff"
)

// retryQueue is a shard's failing entries, a min-heap by retryAt.
// Flusher-owned. An entry is in it exactly while its failedSince is set.
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
	heap.Push(q, e)
}

// due pops the entries whose retry time has come (all of them when all is
// set) onto batch.
func (q *retryQueue) due(batch []*entry, now int64, all bool) []*entry {
	for q.Len() > 0 && (all || (*q)[0].retryAt <= now) {
		e := heap.Pop(q).(*entry)
		if e.state.Load()&stateDeleted != 0 {
			e.failedSince = 0 // Tracker.Delete dropped it
			continue
		}
		batch = append(batch, e)
	}
	return batch
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
