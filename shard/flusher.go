package shard

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/lastevent/lastevent/core"
)

// shardStatus is what a flusher publishes for other goroutines (Flush, Close,
// metrics) to read.
type shardStatus struct {
	unflushed atomic.Int64          // entries waiting for a retry after a failure
	lastErr   atomic.Pointer[error] // the newest backend failure
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
)

// run is the shard's flusher goroutine: it owns every write of this shard's
// sessions. It wakes on the tick, on a full batch, on Flush and on Close, and
// returns only after Close's final drain.
func (s *shard) run() {
	tick := time.NewTicker(s.cfg.FlushInterval)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			s.cycle(cycleTick)
		case <-s.wake:
			s.cycle(cycleEarly)
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
// r.ctx ends, retrying failures on the tick. Close has already waited out
// every Observe that could still push, so the seal only guards against bugs.
func (s *shard) drainForClose(r *flushReq, tick <-chan time.Time) {
	r.gen = s.gen + 1
	s.waiters = append(s.waiters, r)
	s.parent = r.ctx // Close's deadline bounds the final writes too
	s.cycle(cycleClose)
	for len(s.retry) > 0 {
		select {
		case <-tick:
			s.cycle(cycleClose)
		case <-r.ctx.Done():
			s.failWaiters(r.ctx.Err())
			return
		}
	}
	s.failWaiters(ErrClosed) // only unsatisfied waiters remain; none should
}

// cycle takes every dirty entry and every entry awaiting retry and writes
// the newest checkpoint of each, MaxBatch per Store call. Work is
// proportional to the dirty sessions, never to all sessions.
func (s *shard) cycle(kind cycleKind) {
	s.gen++
	g := s.gen
	if kind == cycleTick {
		s.period++
	}
	batch := s.batch[:0]
	for _, e := range s.retry {
		e.cycle = g
		batch = append(batch, e)
	}
	s.retry = reuse(s.retry, s.cfg.MaxBatch)
	if kind != cycleEarly {
		for _, e := range s.held {
			batch = s.take(batch, e, g)
		}
		s.held = reuse(s.held, s.cfg.MaxBatch)
	}

	var taken int64
	for e := s.dirty.take(kind == cycleClose); e != nil; {
		next := e.next
		e.next = nil
		taken++
		if kind == cycleEarly && e.writtenPeriod == s.period {
			// Written this period already: keep it queued (so Observe does
			// not push it again) and write it at the tick.
			s.held = append(s.held, e)
		} else {
			batch = s.take(batch, e, g)
		}
		e = next
	}
	s.dirty.count.Add(-taken)

	for i := 0; i < len(batch); i += s.cfg.MaxBatch {
		s.write(batch[i:min(i+s.cfg.MaxBatch, len(batch))], g)
	}
	s.batch = reuse(batch, s.cfg.MaxBatch)
	s.status.unflushed.Store(int64(len(s.retry)))
	s.answerWaiters(g)
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

// take un-queues e and adds it to batch unless this cycle already has it.
// queued is cleared before write reads the checkpoint: an event stored after
// that read re-queues the entry; one stored before it is the one written.
func (s *shard) take(batch []*entry, e *entry, g uint64) []*entry {
	e.queued.Store(false)
	if e.cycle == g {
		return batch
	}
	e.cycle = g
	return append(batch, e)
}

// write stores the newest checkpoint of each entry in one Store call and
// files each outcome: stored entries are clean, failed ones go to retry.
func (s *shard) write(entries []*entry, g uint64) {
	s.pending, s.cps = s.pending[:0], s.cps[:0]
	for _, e := range entries {
		cp := e.checkpoint()
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
	if cap(s.results) < len(s.cps) {
		s.results = make([]core.Result, len(s.cps))
	}
	results := s.results[:len(s.cps)]
	clear(results)
	s.store(s.cps, results)

	for i, e := range s.pending {
		r := results[i]
		if r.Stored() {
			if seq := s.cps[i].Seq; seq > e.storedSeq.Load() {
				e.storedSeq.Store(seq)
			}
			e.failedSince, e.attempts = 0, 0
			e.writtenPeriod = s.period
			continue
		}
		if e.failedSince == 0 {
			e.failedSince = g
		}
		e.attempts++
		s.retry = append(s.retry, e)
		s.reportFailure(s.cps[i], int(e.attempts), r.Error())
	}
	clear(s.pending)
	clear(s.cps)
	clear(results)
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

func (s *shard) reportFailure(cp core.Checkpoint, attempt int, err error) {
	s.status.lastErr.Store(&err)
	if s.cfg.OnError != nil {
		s.cfg.OnError(WriteFailure{Session: cp.Session, Seq: cp.Seq, Attempt: attempt, Err: err, Retry: true})
	}
	if n, ok := s.logs.allow(time.Now()); ok {
		level := slog.LevelWarn
		if !core.IsRetryable(err) {
			level = slog.LevelError
		}
		s.cfg.Logger.Log(context.Background(), level, "lastevent: checkpoint write failed; will retry",
			"session", cp.Session, "seq", cp.Seq, "attempt", attempt, "error", err,
			"retryable", core.IsRetryable(err), "suppressed", n)
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
	oldest := ^uint64(0)
	for _, e := range s.retry {
		oldest = min(oldest, e.failedSince)
	}
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
