package shard

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"

	"github.com/VictoriaMetrics/metrics"
	"github.com/cespare/xxhash/v2"
	"github.com/puzpuzpuz/xsync/v3"

	"github.com/lastevent/lastevent/core"
)

// Tracker deduplicates event IDs per session, knows each session's newest
// event ID, and persists that checkpoint to a core.Backend from one flusher
// goroutine per shard.
//
// A Tracker is safe for concurrent use. It must be created with New and
// released with Close, which stops its goroutines; it must not be copied.
// The backend is the caller's: Close does not close it.
type Tracker struct {
	closed atomic.Bool
	// sessions holds every session in memory, each entry naming its shard:
	// one lookup by name finds both, hashing the name once.
	sessions *xsync.MapOf[string, *entry]
	live     atomic.Int64 // sessions in memory
	mask     uint64
	shards   []shard
	backend  core.Backend
	cfg      Config

	metrics        *trackerMetrics
	rejected       [numRejectReasons]atomic.Uint64 // Observe errors by reason; rare, so not striped
	closeUnflushed atomic.Int64

	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
	stopped   chan struct{} // closed when every flusher has returned
}

// New starts a Tracker on backend with cfg (zero fields take defaults). It
// starts exactly Config.Shards goroutines; no other goroutine is ever
// started, however many events, sessions or flushes follow. An invalid
// Config yields an error naming the field, and a nil backend (also a nil
// pointer of a backend type) an error.
func New(backend core.Backend, cfg Config) (*Tracker, error) {
	if isNil(backend) {
		return nil, fmt.Errorf("lastevent: nil backend (%T)", backend)
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	t := &Tracker{
		sessions: xsync.NewMapOf[string, *entry](),
		mask:     uint64(cfg.Shards - 1),
		shards:   make([]shard, cfg.Shards),
		backend:  backend,
		cfg:      cfg,
		stopped:  make(chan struct{}),
	}
	t.metrics = newTrackerMetrics(t)
	start := cfg.Now()
	for i := range t.shards {
		t.shards[i].init(i, backend, &t.cfg, t.sessions, &t.live, start, t.metrics)
	}
	t.wg.Add(len(t.shards))
	for i := range t.shards {
		go func(s *shard) {
			defer t.wg.Done()
			s.run()
		}(&t.shards[i])
	}
	cfg.Logger.Info("lastevent: tracker started", "shards", cfg.Shards, "window", cfg.Window,
		"flush_interval", cfg.FlushInterval, "max_batch", cfg.MaxBatch,
		"max_sessions", cfg.MaxSessions, "idle_ttl", cfg.IdleTTL)
	return t, nil
}

// isNil reports whether b is nil, or an interface holding a nil pointer,
// map, slice, func or channel: a backend whose first call would panic.
func isNil(b core.Backend) bool {
	if b == nil {
		return true
	}
	switch v := reflect.ValueOf(b); v.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan, reflect.Interface:
		return v.IsNil()
	}
	return false
}

// LastEventID returns the newest accepted event ID of session, the value to
// send as Last-Event-ID, and false if the session has none in memory. It is
// wait-free and may not yet reflect an Observe that has not returned.
func (t *Tracker) LastEventID(session string) (string, bool) {
	cp, ok := t.Checkpoint(session)
	return cp.EventID, ok
}

// Checkpoint returns the newest checkpoint of session held in memory, and
// false if there is none. Wait-free, like LastEventID.
func (t *Tracker) Checkpoint(session string) (core.Checkpoint, bool) {
	e, ok := t.sessions.Load(session)
	if !ok {
		return core.Checkpoint{}, false
	}
	cp := e.checkpoint()
	return cp, cp.Seq > 0
}

// Flush is a barrier: when it returns nil, the checkpoint of every Observe
// that returned before the call is stored in the backend, or superseded there
// by a newer one. An Observe still running when Flush is called may or may
// not be covered, even if a concurrent LastEventID already returned its ID:
// the record is published a few instructions before its session is queued.
// Failed writes are retried until ctx ends; then Flush returns an error
// wrapping ErrUnflushed and ctx.Err() that says how many sessions wait.
func (t *Tracker) Flush(ctx context.Context) error {
	if t.closed.Load() {
		return ErrClosed
	}
	reqs := make([]*request, len(t.shards))
	for i := range t.shards {
		r := &request{kind: requestFlush, ctx: ctx, done: make(chan error, 1)}
		select {
		case t.shards[i].reqs <- r:
		case <-ctx.Done():
			return t.unflushed(ctx.Err())
		case <-t.stopped:
			return ErrClosed
		}
		reqs[i] = r
	}
	for _, r := range reqs {
		select {
		case err := <-r.done:
			if err != nil {
				return t.unflushed(err)
			}
		case <-ctx.Done():
			return t.unflushed(ctx.Err())
		}
	}
	return nil
}

// Close stops accepting events, writes every accepted checkpoint (retrying
// failures until ctx ends), and stops every goroutine New started. If ctx
// ends first, it returns an error wrapping ErrUnflushed with the number of
// sessions whose newest checkpoint is not stored; it never reports as stored
// what is not. Close is idempotent: later calls wait for the first and return
// its result. Afterwards every method returns ErrClosed.
func (t *Tracker) Close(ctx context.Context) error {
	t.closeOnce.Do(func() {
		t.closed.Store(true)
		t.quiesce()
		reqs := make([]*request, len(t.shards))
		for i := range t.shards {
			reqs[i] = &request{kind: requestClose, ctx: ctx, done: make(chan error, 1)}
			t.shards[i].reqs <- reqs[i] // every flusher runs until it takes this
		}
		var failed error
		for _, r := range reqs {
			if err := <-r.done; err != nil && failed == nil {
				failed = err
			}
		}
		t.wg.Wait()
		close(t.stopped)
		if failed != nil {
			t.closeErr = t.unflushed(failed)
			n := t.awaitingRetry()
			t.closeUnflushed.Store(n)
			t.cfg.Logger.Error("lastevent: tracker closed with checkpoints not stored",
				"unflushed_sessions", n, "error", t.closeErr)
			return
		}
		t.cfg.Logger.Info("lastevent: tracker closed")
	})
	return t.closeErr
}

// quiesce waits until no Observe or Resume that began before Close marked
// the tracker closed is still inside its critical section. Each one runs
// under its session's writer flag and checks closed there; taking and
// releasing every flag once after closed is set means every later holder
// sees it. One pass over the sessions, once per Tracker.
func (t *Tracker) quiesce() {
	t.sessions.Range(func(_ string, e *entry) bool {
		e.Lock()
		e.Unlock() //nolint:staticcheck // an empty critical section is the point
		return true
	})
}

// Sessions returns the number of sessions held in memory.
func (t *Tracker) Sessions() int { return int(t.live.Load()) }

// Metrics returns the tracker's own metrics set: counters, gauges and
// histograms named with Config.MetricsPrefix and Config.MetricsLabels (see
// docs/operations.md). The tracker never registers it globally; expose it
// with metrics.RegisterSet or set.WritePrometheus. Counters and gauges are
// computed from Stats when the set is written.
func (t *Tracker) Metrics() *metrics.Set { return t.metrics.set }

// Shards returns the number of shards, each with one flusher goroutine.
func (t *Tracker) Shards() int { return len(t.shards) }

func (t *Tracker) shardOf(session string) *shard {
	return &t.shards[xxhash.Sum64String(session)&t.mask]
}

// awaitingRetry returns the number of sessions whose newest checkpoint
// failed to store (or waits for a breaker) and is scheduled for a retry.
func (t *Tracker) awaitingRetry() int64 {
	var n int64
	for i := range t.shards {
		n += t.shards[i].status.failing.Load()
	}
	return n
}

// unflushed wraps cause with ErrUnflushed, the number of sessions whose
// writes are failing and the newest backend error.
func (t *Tracker) unflushed(cause error) error {
	n := t.awaitingRetry()
	var last error
	for i := range t.shards {
		if err := t.shards[i].lastError(); err != nil {
			last = err
		}
	}
	if last == nil {
		return fmt.Errorf("%w: %d sessions awaiting retry: %w", ErrUnflushed, n, cause)
	}
	return fmt.Errorf("%w: %d sessions awaiting retry (last backend error: %v): %w", ErrUnflushed, n, last, cause)
}
