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
	_     [cacheLineSize - 16]byte // dirtyStack is 16 bytes: head + count

	sessions *xsync.MapOf[string, *entry]
	wake     chan struct{}  // cap 1: "dirty count reached MaxBatch"
	reqs     chan *flushReq // Flush barriers
	closing  chan *flushReq // cap 1: the final drain, sent once by Close

	evict   chan struct{}   // cap 1: "MaxSessions reached, evict now"
	deletes chan *deleteReq // Tracker.Delete, carried out by the flusher

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
	gen      uint64      // flush cycles run so far
	period   uint64      // coalescing periods (ticks) so far, from 1
	retries  retryQueue  // failing entries by next attempt
	held     []*entry    // queued entries an early cycle keeps for the next full one
	clock    []*entry    // every entry the flusher has taken, in CLOCK order
	hand     int         // the CLOCK hand: next index of clock to visit
	lap      int64       // clock time the hand last wrapped to 0
	swept    int64       // clock time of the last sweep
	timer    *time.Timer // fires when the earliest retry is due
	waiters  []*flushReq // Flush calls waiting for a cycle to finish clean
	batch    []*entry    // reused: entries taken by the current cycle
	pending  []*entry    // reused: entries of one Store call
	names    []string    // reused: sessions of one adopting Load
	adopting []*entry    // reused: their entries
	wrote    int         // checkpoints sent to Store in the current cycle
	cps      []core.Checkpoint
	results  []core.Result
	logs     logLimiter
	parent   context.Context // of Store calls; Close's ctx during the final drain
}

// flushReq is one Flush (or Close) waiting on one shard.
type flushReq struct {
	ctx  context.Context
	done chan error // cap 1
	gen  uint64     // the first cycle that covers the request; set by the flusher
}

func (s *shard) init(index int, b core.Backend, cfg *Config, live *atomic.Int64, start time.Time, m *trackerMetrics) {
	s.metrics = m
	s.status.cleanAt.Store(start.UnixNano())
	s.sessions = xsync.NewMapOf[string, *entry]()
	s.wake = make(chan struct{}, 1)
	s.evict = make(chan struct{}, 1)
	s.deletes = make(chan *deleteReq)
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
	s.reqs = make(chan *flushReq)
	s.closing = make(chan *flushReq, 1)
	s.backend = b
	s.cfg = cfg
	s.logs.every = time.Second
	s.period = 1 // writtenPeriod 0 means "never written"
}

// dropIfEmpty removes e from the shard's map if it still holds no event. It
// is for entries created by an Observe that then found the tracker closed:
// after Close no event can be accepted, so an empty entry stays empty.
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

// markDirty queues e for the next flush. The caller holds e's writer flag
// and has just stored an accepted, unflushed checkpoint. It reports false
// when the shard has closed and can no longer flush.
func (s *shard) markDirty(e *entry) bool {
	if e.queued() {
		return true // queued; the flusher reads the newest checkpoint
	}
	e.state.Or(stateQueued)
	n := s.dirty.push(e)
	if n < 0 {
		e.state.And(^stateQueued)
		return false
	}
	if n == int64(s.cfg.MaxBatch) {
		// One non-blocking send per MaxBatch newly dirty sessions, not per
		// event: a full batch need not wait for the tick.
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
	return true
}
