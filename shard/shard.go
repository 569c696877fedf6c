package shard

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/puzpuzpuz/xsync/v3"

	"github.com/lastevent/lastevent/core"
)

// cacheLineSize is the unit of false sharing on the CPUs we target (x86-64
// and most arm64). Shards sit side by side in one slice; padding keeps one
// shard's hot dirty-stack head off its neighbours' cache lines.
const cacheLineSize = 64

// shard owns a subset of sessions and the one flusher goroutine that persists
// them. Everything under "flusher-owned" is touched only by that goroutine.
type shard struct {
	dirty dirtyStack
	_     [cacheLineSize - 24]byte // dirtyStack is 24 bytes: head + two counts

	sessions *xsync.MapOf[string, *entry] // the Tracker's: every shard's sessions in one map
	// Two ways in for other goroutines: nudge (cap 1) wakes the flusher for
	// the reasons in want, without blocking the Observe that sends it;
	// reqs carries Flush, Delete and Close, each answered on its done.
	nudge chan struct{}
	want  atomic.Uint32 // wantEarly | wantEvict
	reqs  chan *request

	index   int
	backend core.Backend
	cfg     *Config
	live    *atomic.Int64 // the Tracker's count of sessions in memory
	start   time.Time     // clock origin of active and retryAt
	breaker breaker
	status  shardStatus
	counts  flushCounters
	metrics *trackerMetrics

	// flusher-owned.
	gen     uint64          // flush cycles run so far
	period  uint64          // coalescing periods (ticks) so far, from 1
	held    []*entry        // queued entries an early cycle keeps for the next full one
	retries retryQueue      // failing entries by next attempt
	timer   *time.Timer     // fires when the earliest retry is due
	waiters []*request      // Flush and Close waiting for a cycle to finish clean
	batch   batch           // the current cycle's entries: take fills it, settle empties it
	clock   clock           // the sweep's CLOCK over every entry taken
	logs    logLimiter      // failure lines: one per second
	parent  context.Context // of backend calls; Close's ctx during the final drain
}

// Reasons for a nudge.
const (
	wantEarly uint32 = 1 << iota // MaxBatch sessions became dirty: flush before the tick
	wantEvict                    // MaxSessions reached: evict now
)

// shardStatus is what a flusher publishes for other goroutines (Flush, Close,
// Resume, Stats) to read.
type shardStatus struct {
	failing      atomic.Int64          // entries in the retry queue
	lastErr      atomic.Pointer[error] // the newest backend failure
	breakerOpens atomic.Uint64         // times the breaker opened
	openedAt     atomic.Int64          // time.Now (unix ns) the breaker last opened
	recovered    atomic.Bool           // the breaker closed after a probe: retry everything now
	cleanAt      atomic.Int64          // Now (unix ns) at the start of the last cycle that left nothing failing
	deletes      deletions             // Deletes run so far, and the running one's completion
}

func (s *shard) init(index int, b core.Backend, cfg *Config, sessions *xsync.MapOf[string, *entry], live *atomic.Int64, start time.Time, m *trackerMetrics) {
	s.metrics = m
	s.status.cleanAt.Store(start.UnixNano())
	s.sessions = sessions
	s.nudge = make(chan struct{}, 1)
	s.reqs = make(chan *request)
	s.index = index
	s.live = live
	s.start = start
	s.breaker = newBreaker(index, cfg, func(open, closed bool) {
		if open {
			s.status.openedAt.Store(time.Now().UnixNano()) // gobreaker's clock
			s.status.breakerOpens.Add(1)
		}
		if closed {
			s.status.recovered.Store(true)
		}
	})
	s.backend = b
	s.cfg = cfg
	s.logs.every = time.Second
	s.period = 1 // writtenPeriod 0 means "never written"
}

// wake nudges the flusher for reason without blocking.
func (s *shard) wake(reason uint32) {
	s.want.Or(reason)
	select {
	case s.nudge <- struct{}{}:
	default: // a nudge is pending; it will see the reason
	}
}

// queueLocked has the flusher take e at its next cycle; the caller holds
// e's writer flag. unstored says e has just stored an accepted checkpoint
// not yet written (a duplicate queues e only so that its counts are
// collected). It reports false when the shard has closed and can no longer
// flush.
func (s *shard) queueLocked(e *entry, unstored bool) bool {
	set := e.queueLocked(unstored)
	switch {
	case set&flagQueued != 0:
		n := s.dirty.push(e, set&flagUnstored != 0)
		if n < 0 {
			e.unqueue(set)
			return false
		}
		if n == int64(s.cfg.MaxBatch) {
			// One nudge per MaxBatch newly queued sessions, not per
			// event: a full batch need not wait for the tick.
			s.wake(wantEarly)
		}
	case set&flagUnstored != 0:
		s.dirty.addUnstored() // queued by a duplicate, now holding an event
	}
	return true
}

// dropIfEmpty removes e from the shard's map if it still holds no event. It
// is for entries created by an Observe or Resume that then found the tracker
// closed: after Close no event can be accepted, so an empty entry stays
// empty.
func (s *shard) dropIfEmpty(e *entry) {
	s.remove(e, func() bool { return e.Seq() == 0 })
}

// remove deletes e from the shard's map if it is still the session's entry
// and cond holds, keeping the Tracker's session count, and reports whether
// it did.
func (s *shard) remove(e *entry, cond func() bool) bool {
	deleted := false
	s.sessions.Compute(e.session, func(cur *entry, loaded bool) (*entry, bool) {
		if loaded && cur == e && cond() {
			deleted = true
			return cur, true
		}
		// Deleting when !loaded keeps Compute from storing a nil entry.
		return cur, !loaded
	})
	if deleted {
		s.live.Add(-1)
	}
	return deleted
}

// now returns the shard's clock time, in nanoseconds since New.
func (s *shard) now() int64 { return int64(s.cfg.Now().Sub(s.start)) }

// parentCtx is the parent context of the flusher's backend calls: Close's
// context during the final drain, else Background.
func (s *shard) parentCtx() context.Context {
	if s.parent == nil {
		return context.Background()
	}
	return s.parent
}

// lastError returns the newest backend failure of this shard, or nil.
func (s *shard) lastError() error {
	if p := s.status.lastErr.Load(); p != nil {
		return *p
	}
	return nil
}
