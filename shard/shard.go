package shard

import (
	"context"
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

	backend core.Backend
	cfg     *Config
	status  shardStatus

	// flusher-owned.
	gen     uint64      // flush cycles run so far
	period  uint64      // coalescing periods (ticks) so far, from 1
	retry   []*entry    // failed entries, written again next cycle
	held    []*entry    // queued entries an early cycle keeps for the next full one
	waiters []*flushReq // Flush calls waiting for a cycle to finish clean
	batch   []*entry    // reused: entries taken by the current cycle
	pending []*entry    // reused: entries of one Store call
	cps     []core.Checkpoint
	results []core.Result
	logs    logLimiter
	parent  context.Context // of Store calls; Close's ctx during the final drain
}

// flushReq is one Flush (or Close) waiting on one shard.
type flushReq struct {
	ctx  context.Context
	done chan error // cap 1
	gen  uint64     // the first cycle that covers the request; set by the flusher
}

func (s *shard) init(b core.Backend, cfg *Config) {
	s.sessions = xsync.NewMapOf[string, *entry]()
	s.wake = make(chan struct{}, 1)
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
	s.sessions.Compute(e.session, func(cur *entry, loaded bool) (*entry, bool) {
		// Deleting when !loaded keeps Compute from storing a nil entry.
		return cur, !loaded || (cur == e && e.Seq() == 0)
	})
}

// markDirty queues e for the next flush. The caller holds e's writer flag
// and has just stored an accepted, unflushed checkpoint. It reports false
// when the shard has closed and can no longer flush.
func (s *shard) markDirty(e *entry) bool {
	if e.queued.Load() {
		return true // queued; the flusher reads the newest checkpoint
	}
	e.queued.Store(true)
	n := s.dirty.push(e)
	if n < 0 {
		e.queued.Store(false)
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
