package shard

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/VictoriaMetrics/metrics"
	"github.com/cespare/xxhash/v2"

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
	closed  atomic.Bool
	live    atomic.Int64 // sessions in memory
	mask    uint64
	shards  []shard
	backend core.Backend
	cfg     Config

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
// Config yields an error naming the field.
func New(backend core.Backend, cfg Config) (*Tracker, error) {
	if backend == nil {
		return nil, errors.New("lastevent: nil backend")
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	t := &Tracker{
		mask:    uint64(cfg.Shards - 1),
		shards:  make([]shard, cfg.Shards),
		backend: backend,
		cfg:     cfg,
		stopped: make(chan struct{}),
	}
	t.metrics = newTrackerMetrics(t)
	start := cfg.Now()
	for i := range t.shards {
		t.shards[i].init(i, backend, &t.cfg, &t.live, start, t.metrics)
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

// Observe records that session received eventID. It reports accepted=false
// for a duplicate: an ID among the session's last Config.Window accepted IDs.
// An accepted ID becomes the session's newest checkpoint (Seq+1) and is
// persisted by the next flush of its shard.
//
// Observe never blocks on I/O, starts no goroutine, and allocates one 24-byte
// record per accepted event (plus the session's state on its first event);
// a duplicate allocates nothing. Concurrent Observes of one session are
// linearizable; of different sessions, independent. Observe of a session
// that is not in memory starts it at Seq 1: after a restart, call Resume
// first so its Seq continues from the stored checkpoint.
//
// Bad input returns an error wrapping a core sentinel (core.ErrEmptySession,
// core.ErrInvalidEventID, ...) and changes nothing; after Close it returns
// ErrClosed. eventID is retained as given (strings are immutable).
func (t *Tracker) Observe(session, eventID string) (accepted bool, err error) {
	accepted, err = t.observe(session, eventID, false)
	if err != nil {
		t.countReject(err)
	}
	return accepted, err
}

// ObserveBytes is Observe for an event ID held in a byte slice, such as the
// ID field sse.Decoder returns. It does not retain id: a duplicate (and
// rejected input) allocates nothing, and an accepted ID costs one copy of
// it, the string the tracker keeps, besides Observe's record. id may be
// reused as soon as ObserveBytes returns.
func (t *Tracker) ObserveBytes(session string, id []byte) (accepted bool, err error) {
	// A view of id, not a copy: observe reads it, and clones it only when
	// it keeps it.
	accepted, err = t.observe(session, unsafe.String(unsafe.SliceData(id), len(id)), true)
	if err != nil {
		t.countReject(err)
	}
	return accepted, err
}

// observe is Observe; borrowed says eventID is a view of the caller's
// bytes, which must be copied before it is kept.
func (t *Tracker) observe(session, eventID string, borrowed bool) (accepted bool, err error) {
	if t.closed.Load() {
		return false, ErrClosed
	}
	if err := core.CheckEventIDLength(eventID, t.cfg.MaxEventIDBytes); err != nil {
		return false, err
	}
	s := t.shardOf(session)
	e, known := s.sessions.Load(session)
	if !known {
		// A new session is created only for a valid name and event ID.
		if err := core.ValidateSession(session); err != nil {
			return false, err
		}
		if err := core.CheckEventIDBytes(eventID); err != nil {
			return false, err
		}
		if e, err = t.create(s, session); err != nil {
			return false, err
		}
	}
	h := xxhash.Sum64String(eventID)
	// The closed check, the observation and the queueing form one critical
	// section under the session's writer flag. Close waits out every such
	// section before its final drain, so an Observe either is queued in time
	// to be written or sees closed and changes nothing.
	if e, err = t.lock(s, e); err != nil {
		return false, err
	}
	if t.closed.Load() {
		e.Unlock()
		s.dropIfEmpty(e) // this Observe may have created it
		return false, ErrClosed
	}
	if e.HasLocked(h) {
		// Count it in the slot and have the flusher collect the count by
		// the next cycle; set the CLOCK reference bit. One load of the
		// state word in the common case.
		if n := e.countDuplicateLocked(); n > 0 {
			s.counts.dedup.Add(n)
		}
		st := e.state.Load()
		if st&stateRef == 0 {
			e.state.Or(stateRef)
		}
		if st&stateQueued == 0 {
			s.markDirty(e)
		}
		e.Unlock()
		return false, nil
	}
	// The byte scan runs only for an ID about to be accepted: a duplicate
	// equals an ID that passed it (up to a 64-bit hash collision, the same
	// caveat as dedup itself), so replays skip it.
	if known {
		if err := core.CheckEventIDBytes(eventID); err != nil {
			e.Unlock()
			return false, err
		}
	}
	if borrowed {
		eventID = strings.Clone(eventID) // the record keeps it
	}
	e.AcceptLocked(eventID, h)
	if !s.markDirty(e) {
		e.Unlock()
		return true, ErrClosed // unreachable while Close quiesces first
	}
	e.Unlock()
	return true, nil
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
	e, ok := t.shardOf(session).sessions.Load(session)
	if !ok {
		return core.Checkpoint{}, false
	}
	cp := e.checkpoint()
	return cp, cp.Seq > 0
}

// Resume makes session continue its stored history and returns its newest
// checkpoint (Seq 0 if it has none anywhere; Window is left empty). When the
// session is not in memory it is loaded from the backend, so after a
// restart, an eviction, or on another process sharing the backend,
// LastEventID and Seq continue where the stored checkpoint left off and its
// dedup window holds the stored window: a replay of any of the last
// Config.PersistWindow accepted IDs is a duplicate, so Last-Event-ID never
// moves back. When it is in memory and already knows its history, no
// backend call is made. When it was started in memory by Observe before any
// Resume, its events are numbered on top of the stored checkpoint, the
// stored window goes below its own (see core.Slot.Adopt), and it is queued
// for writing. A stored window that does not belong to its checkpoint
// fails Resume with an error wrapping core.ErrInvalidWindow and
// core.ErrPermanent, and changes nothing.
func (t *Tracker) Resume(ctx context.Context, session string) (core.Checkpoint, error) {
	if t.closed.Load() {
		return core.Checkpoint{}, ErrClosed
	}
	if err := core.ValidateSession(session); err != nil {
		return core.Checkpoint{}, err
	}
	s := t.shardOf(session)
	for {
		cp, again, err := t.resume(ctx, s, session)
		if !again {
			return cp, err
		}
	}
}

// resume is one attempt of Resume. It reports again when a Delete of the
// shard ran between its Load and its adoption: the loaded checkpoint may be
// the deleted one, which must not come back, so Resume loads again.
func (t *Tracker) resume(ctx context.Context, s *shard, session string) (_ core.Checkpoint, again bool, _ error) {
	epoch, err := s.deletionEpoch(ctx)
	if err != nil {
		return core.Checkpoint{}, false, err
	}
	e, ok := s.sessions.Load(session)
	if ok && e.Adopted() {
		return e.checkpoint(), false, nil
	}
	stored, err := s.load(ctx, []string{session})
	if err != nil {
		return core.Checkpoint{}, false, fmt.Errorf("lastevent: resume %q: %w", session, err)
	}
	cp := stored[session]
	if err := checkStored(cp); err != nil {
		return core.Checkpoint{}, false, fmt.Errorf("lastevent: resume %q: %w", session, err)
	}
	found := e
	if !ok {
		if e, err = t.create(s, session); err != nil {
			return core.Checkpoint{}, false, err
		}
	}
	if e, err = t.lock(s, e); err != nil {
		return core.Checkpoint{}, false, err
	}
	if s.status.deletions.Load() != epoch {
		e.Unlock()
		return core.Checkpoint{}, true, nil
	}
	fresh := e != found // created here, or replaced an evicted entry
	if t.closed.Load() {
		e.Unlock()
		s.dropIfEmpty(e) // this Resume may have created it
		return core.Checkpoint{}, false, ErrClosed
	}
	defer e.Unlock()
	if !e.AdoptedLocked() { // else a flusher's adoption or another Resume won
		adoptStored(e, cp)
	}
	// Queue the entry so its flusher sees it: to write events observed
	// before this Resume (renumbered after the stored checkpoint), and to
	// track a session Resume created for eviction. Queueing an entry whose
	// newest checkpoint is stored only costs the flusher a skip.
	if e.Seq() > cp.Seq || fresh {
		if !s.markDirty(e) {
			return core.Checkpoint{}, false, ErrClosed
		}
	}
	return e.checkpoint(), false, nil
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
	reqs := make([]*flushReq, len(t.shards))
	for i := range t.shards {
		r := &flushReq{ctx: ctx, done: make(chan error, 1)}
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
		reqs := make([]*flushReq, len(t.shards))
		for i := range t.shards {
			reqs[i] = &flushReq{ctx: ctx, done: make(chan error, 1)}
			t.shards[i].closing <- reqs[i] // cap 1, sent once: never blocks
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
	for i := range t.shards {
		t.shards[i].sessions.Range(func(_ string, e *entry) bool {
			e.Lock()
			e.Unlock() //nolint:staticcheck // an empty critical section is the point
			return true
		})
	}
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

// create returns session's entry in s, creating it if no other goroutine
// did first, within Config.MaxSessions. The caller has validated session. The
// map key is a private copy of session, so a caller's substring of a larger
// buffer is not retained.
func (t *Tracker) create(s *shard, session string) (*entry, error) {
	if err := t.reserve(); err != nil {
		return nil, err
	}
	made := false
	key := strings.Clone(session)
	e, _ := s.sessions.LoadOrCompute(key, func() *entry {
		made = true
		return t.newEntry(key)
	})
	if !made {
		t.live.Add(-1)
	}
	return e, nil
}

func (t *Tracker) newEntry(session string) *entry {
	e := &entry{session: session}
	_ = e.Init(t.cfg.Window) // validated in New
	return e
}

// reserve counts one more session in memory, or returns ErrTooManySessions
// and wakes the flushers to evict when Config.MaxSessions are already in.
func (t *Tracker) reserve() error {
	limit := int64(t.cfg.MaxSessions)
	if n := t.live.Add(1); limit == 0 || n <= limit {
		return nil
	}
	t.live.Add(-1)
	for i := range t.shards {
		select {
		case t.shards[i].evict <- struct{}{}:
		default:
		}
	}
	return fmt.Errorf("%w: %d of %d; their checkpoints are not yet stored", ErrTooManySessions, limit, limit)
}

// lock takes the writer flag of session's live entry, starting from e. If e
// was evicted (its flusher set the flag while this caller raced to it), it
// moves to the entry that replaced it, or makes one that carries e's stored
// checkpoint over, so the caller's event continues e's Seq.
func (t *Tracker) lock(s *shard, e *entry) (*entry, error) {
	for {
		e.Lock()
		st := e.state.Load()
		if st&(stateEvicted|stateDeleted) == 0 {
			return e, nil
		}
		e.Unlock()
		var err error
		if st&stateDeleted != 0 {
			e, err = t.create(s, e.session) // the session starts again
		} else {
			e, err = t.revive(s, e)
		}
		if err != nil {
			return nil, err
		}
	}
}

// revive returns the entry that replaced the evicted entry old in s, making
// it if there is none: Seq, Last-Event-ID and the dedup window carried over
// from old (whose checkpoint is stored, as only clean entries are evicted),
// so no backend call is needed. Replacing old while it is still in the map needs no room
// under MaxSessions; re-inserting a removed session does.
func (t *Tracker) revive(s *shard, old *entry) (*entry, error) {
	// old is evicted: no writer changes it any more, so one snapshot of its
	// whole window (dedup carries over too) serves every attempt below.
	old.Lock()
	carried := old.persistableLocked(t.cfg.Window)
	old.Unlock()
	for {
		cur, present := s.sessions.Load(old.session)
		if present && cur != old {
			return cur, nil
		}
		if !present {
			if err := t.reserve(); err != nil {
				return nil, err
			}
		}
		var made *entry
		s.sessions.Compute(old.session, func(c *entry, loaded bool) (*entry, bool) {
			if loaded != present || (loaded && c != old) {
				return c, !loaded // changed meanwhile: look again
			}
			made = t.newEntry(old.session)
			made.AdoptLocked(carried) // made is not shared yet
			made.storedSeq.Store(carried.Seq)
			made.counted = carried.Seq // carried over, not accepted here
			return made, false
		})
		if made != nil {
			return made, nil
		}
		if !present {
			t.live.Add(-1)
		}
	}
}

// awaitingRetry returns the number of sessions whose newest checkpoint
// failed to store (or waits for a breaker) and is scheduled for a retry.
func (t *Tracker) awaitingRetry() int64 {
	var n int64
	for i := range t.shards {
		n += t.shards[i].status.unflushed.Load()
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
