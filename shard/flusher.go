package shard

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sync/atomic"
	"time"

	"github.com/lastevent/lastevent/core"
)

// shardStatus is what a flusher publishes for other goroutines (Flush, Close,
// metrics) to read.
type shardStatus struct {
	unflushed    atomic.Int64          // entries waiting for a retry after a failure
	lastErr      atomic.Pointer[error] // the newest backend failure
	breakerOpens atomic.Uint64         // times the breaker opened
	openedAt     atomic.Int64          // time.Now (unix ns) the breaker last opened
	recovered    atomic.Bool           // the breaker closed after a probe: retry everything now
	deletions    atomic.Uint64         // +1 when a Delete starts and when it ends: odd while one runs
	held         atomic.Int64          // entries an early cycle holds for the tick
	cleanAt      atomic.Int64          // Now (unix ns) at the start of the last cycle that left nothing failing
}

// cycleKind says what started a flush cycle.
type cycleKind uint8

const (
	// cycleTick: the FlushInterval tick; starts a new coalescing period.
	cycleTick cycleKind = iota
	// cycleEarly: the dirty count reached MaxBatch before the tick. It writes
	// only sessions not yet written in the current period and holds the rest
	// for the tick, so a busy shard still writes each session at most once
	// per FlushInterval.
	cycleEarly
	// cycleFlush: a Flush barrier; writes everything, held entries included.
	cycleFlush
	// cycleClose: like cycleFlush, and seals the dirty stack.
	cycleClose
	// cycleRetry: a retry came due; writes only due retries.
	cycleRetry
	// cycleDrain: Close's later rounds; writes only due retries.
	cycleDrain
)

// takesDirty reports whether the cycle takes the dirty stack.
func (k cycleKind) takesDirty() bool { return k != cycleRetry && k != cycleDrain }

// storeMax raises v to seq if seq is higher.
func storeMax(v *atomic.Uint64, seq uint64) {
	for {
		cur := v.Load()
		if seq <= cur || v.CompareAndSwap(cur, seq) {
			return
		}
	}
}

// run is the shard's flusher goroutine: it owns every write of this shard's
// sessions. It wakes on the tick, on a full batch, when a retry is due, on
// Flush, on MaxSessions pressure and on Close, and returns only after Close's
// final drain.
func (s *shard) run() {
	tick := time.NewTicker(s.cfg.FlushInterval)
	defer tick.Stop()
	s.timer = time.NewTimer(time.Hour)
	s.timer.Stop()
	defer s.timer.Stop()
	for {
		select {
		case <-tick.C:
			s.cycle(cycleTick)
		case <-s.wake:
			s.cycle(cycleEarly)
		case <-s.timer.C:
			s.cycle(cycleRetry)
		case <-s.evict:
			s.sweep(s.now(), true)
		case r := <-s.deletes:
			r.done <- s.delete(r)
		case r := <-s.reqs:
			r.gen = s.gen + 1
			s.waiters = append(s.waiters, r)
			s.cycle(cycleFlush)
		case r := <-s.closing:
			s.drainForClose(r, tick.C)
			return
		}
	}
}

// drainForClose seals the dirty stack and writes until nothing is left or
// r.ctx ends, retrying failures as they come due (and as the breaker lets
// them). Close has already waited out every Observe that could still push,
// so the seal only guards against bugs.
func (s *shard) drainForClose(r *flushReq, tick <-chan time.Time) {
	r.gen = s.gen + 1
	s.waiters = append(s.waiters, r)
	s.parent = r.ctx // Close's deadline bounds the final writes too
	s.cycle(cycleClose)
	for s.retries.Len() > 0 {
		select {
		case <-tick:
			s.cycle(cycleDrain)
		case <-s.timer.C:
			s.cycle(cycleDrain)
		case <-r.ctx.Done():
			s.failWaiters(r.ctx.Err())
			return
		}
	}
	s.failWaiters(ErrClosed) // only unsatisfied waiters remain; none should
}

// cycle takes the dirty entries and the failing entries whose retry is due
// and writes the newest checkpoint of each, MaxBatch per Store call. Work is
// proportional to the dirty sessions, never to all sessions.
func (s *shard) cycle(kind cycleKind) {
	s.gen++
	g := s.gen
	began := s.cfg.Now()
	now := int64(began.Sub(s.start))
	s.wrote = 0
	if kind == cycleTick {
		s.period++
	}
	batch := s.batch[:0]
	if kind.takesDirty() {
		if kind != cycleEarly {
			for _, e := range s.held {
				batch = s.take(batch, e, now)
			}
			s.held = reuse(s.held, s.cfg.MaxBatch)
		}
		var taken int64
		for e := s.dirty.take(kind == cycleClose); e != nil; {
			next := e.next
			e.next = nil
			taken++
			if kind == cycleEarly && e.writtenPeriod == s.period {
				// Written this period already: keep it queued (so Observe
				// does not push it again) and write it at the tick.
				s.held = append(s.held, e)
			} else {
				batch = s.take(batch, e, now)
			}
			e = next
		}
		s.dirty.count.Add(-taken)
		for _, e := range batch {
			e.state.And(^stateBatched)
		}
	}
	if !s.breaker.open() {
		// A Flush or Close retries every failing entry now: the caller is
		// waiting, and the backend may be back. Otherwise retries wait for
		// their backoff. While the breaker is open they all wait for it.
		// Retries due within half a base delay go together: jitter spreads
		// them over time, and one Store per retried session would spend the
		// breaker's threshold of failed calls in a few milliseconds.
		batch = s.retries.due(batch, now+int64(s.cfg.RetryBaseDelay/2), kind == cycleFlush || kind == cycleClose)
	}

	batch = s.adopt(batch, g, now)
	for i := 0; i < len(batch); i += s.cfg.MaxBatch {
		s.write(batch[i:min(i+s.cfg.MaxBatch, len(batch))], g, now)
	}
	s.batch = reuse(batch, s.cfg.MaxBatch)
	if kind == cycleTick || kind == cycleFlush {
		s.sweep(now, false)
	}
	s.status.unflushed.Store(int64(s.retries.Len()))
	s.status.held.Store(int64(len(s.held)))
	if s.retries.Len() == 0 && len(s.held) == 0 {
		s.status.cleanAt.Store(began.UnixNano())
	}
	if s.wrote > 0 {
		s.counts.flushes.Add(1)
		s.metrics.flushDuration.Update(s.cfg.Now().Sub(began).Seconds())
		s.metrics.batchSize.Update(float64(s.wrote))
	}
	s.answerWaiters(g)
	if s.status.recovered.Swap(false) {
		// A probe succeeded: the backend is back, so the sessions that
		// waited out the outage are written now rather than after their
		// (by now long) backoff.
		for _, e := range s.retries {
			e.retryAt = now
		}
	}
	s.armTimer(now)
}

// armTimer sets the retry timer to the earliest retry, or, while the
// breaker is open, to the end of its reset timeout (when the probe may go).
func (s *shard) armTimer(now int64) {
	switch {
	case s.retries.Len() == 0:
		s.timer.Stop()
	case s.breaker.open():
		probe := time.Unix(0, s.status.openedAt.Load()).Add(s.cfg.BreakerResetTimeout)
		s.timer.Reset(max(time.Until(probe), time.Millisecond))
	default:
		s.timer.Reset(time.Duration(max(s.retries[0].retryAt-now, 0)))
	}
}

// reuse empties a buffer the flusher keeps between cycles. It drops the
// references it holds, so sessions the tracker forgets can be collected, and
// lets the buffer go when it is over four times what this cycle used (and
// over four batches), so one burst in which every session was dirty does
// not pin its memory for good.
func reuse[T any](buf []T, batch int) []T {
	if cap(buf) > 4*max(len(buf), batch) {
		return nil
	}
	clear(buf)
	return buf[:0]
}

// take un-queues e and adds it to batch unless this cycle already has it or
// it is failing (then it waits in the retry queue, which writes its newest
// checkpoint when due). The state bit is cleared before write reads the
// checkpoint: an event stored after that read re-queues the entry; one
// stored before it is the one written.
func (s *shard) take(batch []*entry, e *entry, now int64) []*entry {
	st := e.state.And(^stateQueued)
	if st&stateDeleted != 0 {
		return batch // Tracker.Delete dropped it
	}
	e.active = now
	s.collect(e)
	if st&stateSeen == 0 {
		e.state.Or(stateSeen)
		s.clock = append(s.clock, e) // the flusher's first sight of it
	}
	if st&stateBatched != 0 || e.failedSince != 0 {
		return batch
	}
	e.state.Or(stateBatched)
	return append(batch, e)
}

// collect adds the events e accepted and the duplicates it counted since
// the last collection to the shard's counters. It takes e's writer flag
// once: the counts live in fields Observe writes under that flag.
func (s *shard) collect(e *entry) {
	e.Lock()
	s.collectLocked(e)
	e.Unlock()
}

// collectLocked is collect for a caller that holds e's writer flag.
func (s *shard) collectLocked(e *entry) {
	seq := e.Seq()
	accepted := seq - e.counted
	e.counted = seq
	dups := e.takeDuplicatesLocked()
	if accepted > 0 {
		s.counts.accepted.Add(accepted)
	}
	if dups > 0 {
		s.counts.dedup.Add(dups)
	}
}

// write stores the newest checkpoint of each entry in one Store call and
// files each outcome: stored entries are clean, failed ones are scheduled
// for a retry.
func (s *shard) write(entries []*entry, g uint64, now int64) {
	s.pending, s.cps = s.pending[:0], s.cps[:0]
	for _, e := range entries {
		// The record and the window come from one hold of the writer
		// flag, so the window stored is exactly the one that ends with
		// the stored event ID.
		e.Lock()
		cp := e.persistableLocked(s.cfg.PersistWindow)
		e.Unlock()
		if cp.Seq <= e.storedSeq.Load() {
			e.failedSince, e.attempts = 0, 0 // nothing newer than what is durable
			continue
		}
		s.pending = append(s.pending, e)
		s.cps = append(s.cps, cp)
	}
	if len(s.cps) == 0 {
		return
	}
	defer func() {
		clear(s.pending)
		clear(s.cps)
	}()
	done, err := s.breaker.allow()
	if err != nil {
		s.deferAll(s.pending, g, now, err)
		return
	}
	if cap(s.results) < len(s.cps) {
		s.results = make([]core.Result, len(s.cps))
	}
	results := s.results[:len(s.cps)]
	clear(results)
	began := time.Now()
	s.store(s.cps, results)
	s.metrics.storeDuration.UpdateDuration(began)
	done(!storeFailed(results))

	var written, stale, retries uint64
	for i, e := range s.pending {
		if e.attempts > 0 {
			retries++
		}
		r := results[i]
		switch {
		case r.Outcome == core.OutcomeWritten:
			written++
		case r.Outcome == core.OutcomeStale:
			stale++
		default:
			s.fail(e, s.cps[i], r.Error(), g, now)
			continue
		}
		storeMax(&e.storedSeq, s.cps[i].Seq)
		e.failedSince, e.attempts = 0, 0
		e.writtenPeriod = s.period
	}
	s.wrote += len(s.pending)
	s.counts.written.Add(written)
	s.counts.stale.Add(stale)
	s.counts.retries.Add(retries)
	clear(results)
}

// fail schedules the retry of an entry whose write (or load) failed, with
// backoff, and reports the failure.
func (s *shard) fail(e *entry, cp core.Checkpoint, err error, g uint64, now int64) {
	if e.failedSince == 0 {
		e.failedSince = g
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

// deferAll files entries that were not attempted because the breaker is
// open: they wait for the breaker, with no attempt counted and no failure
// reported per session (the breaker's opening was logged and reported).
func (s *shard) deferAll(entries []*entry, g uint64, now int64, err error) {
	for _, e := range entries {
		s.deferOne(e, g, now, err)
	}
}

func (s *shard) deferOne(e *entry, g uint64, now int64, err error) {
	s.status.lastErr.Store(&err)
	s.counts.deferred.Add(1)
	if e.failedSince == 0 {
		e.failedSince = g
	}
	s.retries.schedule(e, now+int64(s.cfg.BreakerResetTimeout))
}

// store calls the backend with a timeout. A panicking backend is turned into
// a failure of the whole batch: a dead flusher would silently stop
// persistence for every session of the shard.
func (s *shard) store(cps []core.Checkpoint, results []core.Result) {
	parent := s.parent
	if parent == nil {
		parent = context.Background()
	}
	ctx, cancel := context.WithTimeout(parent, s.cfg.StoreTimeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			err := fmt.Errorf("%w: backend Store panicked: %v", core.ErrPermanent, p)
			for i := range results {
				results[i] = core.Result{Outcome: core.OutcomeFailed, Err: err}
			}
		}
	}()
	s.backend.Store(ctx, cps, results)
}

func (s *shard) reportFailure(cp core.Checkpoint, attempt int, retryIn time.Duration, err error) {
	s.status.lastErr.Store(&err)
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

// answerWaiters releases every Flush whose request is covered: a cycle at or
// after its gen has finished and no entry that failed at or before that gen
// is still failing. Entries that first failed later were dirtied after the
// request, so they do not hold it up.
func (s *shard) answerWaiters(g uint64) {
	if len(s.waiters) == 0 {
		return
	}
	oldest := s.retries.oldestFailure()
	kept := s.waiters[:0]
	for _, w := range s.waiters {
		switch {
		case g >= w.gen && oldest > w.gen:
			w.done <- nil
		case w.ctx.Err() != nil:
			w.done <- w.ctx.Err() // the caller has given up; drop the request
		default:
			kept = append(kept, w)
		}
	}
	clear(s.waiters[len(kept):])
	s.waiters = kept
}

func (s *shard) failWaiters(err error) {
	for _, w := range s.waiters {
		w.done <- err
	}
	clear(s.waiters)
	s.waiters = s.waiters[:0]
}

// lastError returns the newest backend failure of this shard, or nil.
func (s *shard) lastError() error {
	if p := s.status.lastErr.Load(); p != nil {
		return *p
	}
	return nil
}
