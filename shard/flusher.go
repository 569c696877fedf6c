package shard

import (
	"context"
	"time"
)

// run is the shard's flusher goroutine: it owns every write of this shard's
// sessions. It wakes on the tick, on a nudge (a full batch, MaxSessions
// pressure), when a retry is due, and on a request (Flush, Delete, Close),
// and returns only after Close's final drain.
func (s *shard) run() {
	tick := time.NewTicker(s.cfg.FlushInterval)
	defer tick.Stop()
	s.timer = time.NewTimer(time.Hour)
	s.timer.Stop()
	defer s.timer.Stop()
	for {
		select {
		case <-tick.C:
			s.cycle(tickCycle)
		case <-s.nudge:
			want := s.want.Swap(0)
			if want&wantEarly != 0 {
				s.cycle(earlyCycle)
			}
			if want&wantEvict != 0 {
				s.sweep(s.now(), true)
			}
		case <-s.timer.C:
			s.cycle(retryCycle)
		case r := <-s.reqs:
			switch r.kind {
			case requestDelete:
				r.done <- s.delete(r)
			case requestFlush:
				r.gen = s.gen + 1
				s.waiters = append(s.waiters, r)
				s.cycle(flushCycle)
			case requestClose:
				s.drainForClose(r, tick.C)
				return
			}
		}
	}
}

// request is one Flush, Delete or Close waiting on one shard's flusher.
type request struct {
	kind    requestKind
	ctx     context.Context
	session string     // Delete's
	done    chan error // cap 1
	gen     uint64     // Flush, Close: the first cycle that covers the request
}

type requestKind uint8

const (
	requestFlush requestKind = iota
	requestDelete
	requestClose
)

// cycle says what one flush cycle does. The named cycles below are every
// kind the flusher runs; each stage reads the options it cares about.
type cycle struct {
	newPeriod bool // a tick: a new coalescing period begins
	takeDirty bool // take the dirty stack, and the held entries unless early
	early     bool // hold the sessions written in the current period for the tick
	retryAll  bool // retry every failing entry now, due or not
	seal      bool // seal the dirty stack: the shard is closing
	sweep     bool // run the eviction sweep afterwards
}

var (
	// tickCycle: the FlushInterval tick.
	tickCycle = cycle{newPeriod: true, takeDirty: true, sweep: true}
	// earlyCycle: MaxBatch sessions became dirty before the tick. It
	// writes only sessions not yet written in the current period and holds
	// the rest for the tick, so a busy shard still writes each session at
	// most once per FlushInterval.
	earlyCycle = cycle{takeDirty: true, early: true}
	// flushCycle: a Flush barrier. Its caller waits, and the backend may be
	// back, so every failing entry is retried now.
	flushCycle = cycle{takeDirty: true, retryAll: true, sweep: true}
	// closeCycle: Close's first round, like a Flush, sealing the stack.
	closeCycle = cycle{takeDirty: true, retryAll: true, seal: true}
	// retryCycle: a retry came due (also Close's later rounds).
	retryCycle = cycle{}
)

// cycle runs one flush cycle, top to bottom: take the entries to write and
// read their newest checkpoints; adopt the stored history of those that do
// not know it yet; write them, MaxBatch per Store call; settle each
// outcome; sweep for eviction. Work is proportional to the dirty sessions,
// never to all sessions.
func (s *shard) cycle(c cycle) {
	s.gen++
	began := s.cfg.Now()
	now := int64(began.Sub(s.start))
	if c.newPeriod {
		s.period++
	}

	s.take(c, now)
	s.adopt(now)
	s.write()
	wrote := s.settle(now)
	if c.sweep {
		s.sweep(now, false)
	}

	s.status.failing.Store(int64(s.retries.Len()))
	if s.retries.Len() == 0 && len(s.held) == 0 {
		s.status.cleanAt.Store(began.UnixNano())
	}
	if wrote > 0 {
		s.counts.flushes.Add(1)
		s.metrics.flushDuration.Update(s.cfg.Now().Sub(began).Seconds())
		s.metrics.batchSize.Update(float64(wrote))
	}
	s.answerWaiters()
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

// drainForClose runs Close's cycles: it seals the dirty stack and writes
// until nothing is left or r.ctx ends, retrying failures as they come due
// (and as the breaker lets them). Close has already waited out every
// Observe that could still push, so the seal only guards against bugs.
func (s *shard) drainForClose(r *request, tick <-chan time.Time) {
	r.gen = s.gen + 1
	s.waiters = append(s.waiters, r)
	s.parent = r.ctx // Close's deadline bounds the final writes too
	s.cycle(closeCycle)
	for s.retries.Len() > 0 {
		select {
		case <-tick:
			s.cycle(retryCycle)
		case <-s.timer.C:
			s.cycle(retryCycle)
		case <-r.ctx.Done():
			s.failWaiters(r.ctx.Err())
			return
		}
	}
	s.failWaiters(ErrClosed) // only unsatisfied waiters remain; none should
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

// answerWaiters releases every Flush (or Close) whose request is covered: a
// cycle at or after its gen has finished and no entry that failed at or
// before that gen is still failing. Entries that first failed later were
// dirtied after the request, so they do not hold it up.
func (s *shard) answerWaiters() {
	if len(s.waiters) == 0 {
		return
	}
	oldest := s.retries.oldestFailure()
	kept := s.waiters[:0]
	for _, w := range s.waiters {
		switch {
		case s.gen >= w.gen && oldest > w.gen:
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

// reuse empties a buffer the flusher keeps between cycles. It drops the
// references it holds, so sessions the tracker forgets can be collected, and
// lets the buffer go when it holds more than four batches, so a cycle in
// which many sessions were dirty (a burst, a Flush after a restart) does
// not pin its memory for good: a cycle that big allocates its buffers
// again, once per cycle, never per event.
func reuse[T any](buf []T, batch int) []T {
	if cap(buf) > 4*batch {
		return nil
	}
	clear(buf)
	return buf[:0]
}
