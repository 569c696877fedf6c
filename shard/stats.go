package shard

import (
	"errors"
	"sync/atomic"
	"time"

	"github.com/lastevent/lastevent/core"
)

// Stats is a snapshot of a Tracker's counters and gauges, the numbers its
// metrics (Tracker.Metrics) expose. Counters only grow; gauges are zero after
// Close.
type Stats struct {
	// Sessions in memory, sessions whose newest checkpoint is not yet stored
	// (each once, whether queued or waiting for a retry; duplicates make
	// none), and how long the oldest of those has been waiting (how far
	// persistence lags: about one FlushInterval when healthy).
	Sessions       int
	DirtySessions  int
	OldestDirtyAge time.Duration
	// Goroutines the tracker owns: one flusher per shard while open.
	Goroutines int
	// BreakersOpen is the number of shards whose circuit breaker is open.
	BreakersOpen int

	// EventsAccepted and EventsDeduplicated are collected by the flushers
	// when they next take a session: within one FlushInterval, and exact
	// after Flush or Close. (Counting them on the Observe path cost 18%.)
	EventsAccepted     uint64
	EventsDeduplicated uint64
	// EventsRejected counts Observe calls that returned an error, by reason
	// (see RejectReasons).
	EventsRejected [numRejectReasons]uint64

	CheckpointsWritten uint64 // stored by a backend
	CheckpointsStale   uint64 // refused as stale: an equal or newer one was stored
	// WriteFailures counts failed checkpoint writes (and loads before a
	// first write), by class: [0] retryable, [1] permanent.
	WriteFailures [2]uint64
	// Retries counts writes of checkpoints whose previous attempt failed.
	Retries uint64
	// Deferred counts writes not attempted because a breaker was open.
	Deferred uint64
	// Flushes counts flush cycles that wrote to the backend.
	Flushes uint64
	// BreakerOpens counts breaker transitions to open.
	BreakerOpens uint64
	// Evicted counts sessions evicted: [0] idle for IdleTTL, [1] to stay
	// under MaxSessions.
	Evicted [2]uint64
	// CloseUnflushed is the number of sessions Close left unstored when its
	// context ended (0 after a clean Close or before Close).
	CloseUnflushed int
}

// Observed returns the number of Observe calls: accepted, deduplicated or
// rejected.
func (s Stats) Observed() uint64 {
	n := s.EventsAccepted + s.EventsDeduplicated
	for _, r := range s.EventsRejected {
		n += r
	}
	return n
}

// rejectReason indexes Stats.EventsRejected.
type rejectReason uint8

const (
	rejectEmptySession rejectReason = iota
	rejectSessionTooLong
	rejectInvalidSession
	rejectEmptyEventID
	rejectEventIDTooLong
	rejectInvalidEventID
	rejectClosed
	rejectTooManySessions
	numRejectReasons
)

// RejectReasons names the entries of Stats.EventsRejected; they are also the
// reason label of the events_rejected_total metric.
var RejectReasons = [numRejectReasons]string{
	"empty_session", "session_too_long", "invalid_session",
	"empty_event_id", "event_id_too_long", "invalid_event_id",
	"closed", "too_many_sessions",
}

var rejectErrors = [numRejectReasons]error{
	core.ErrEmptySession, core.ErrSessionTooLong, core.ErrInvalidSession,
	core.ErrEmptyEventID, core.ErrEventIDTooLong, core.ErrInvalidEventID,
	ErrClosed, ErrTooManySessions,
}

// Evicted and WriteFailures indexes.
const (
	evictIdle     = 0
	evictPressure = 1
	evictGone     = 2 // deleted: leaves the clock without counting as evicted
	classRetry    = 0
	classPerm     = 1
)

// flushCounters are written by one shard's flusher and read by Stats.
// Accepted and deduplicated events are among them: Observe counts nothing
// shared (a plain per-slot duplicate count and the Seq it already keeps),
// and the flusher collects both when it takes a session (see collect).
type flushCounters struct {
	accepted, dedup                            atomic.Uint64
	written, stale, retries, deferred, flushes atomic.Uint64
	failures                                   [2]atomic.Uint64
	evicted                                    [2]atomic.Uint64
}

// collectLocked adds the events e accepted and the duplicates it counted
// since the last collection to the shard's counters; the caller holds e's
// writer flag, under which Observe writes them. Flusher only.
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

// countReject counts an Observe error by reason.
func (t *Tracker) countReject(err error) {
	for i, target := range rejectErrors {
		if errors.Is(err, target) {
			t.rejected[i].Add(1)
			return
		}
	}
}

// Stats returns a snapshot of the tracker's counters and gauges. It reads
// atomics only: cheap enough to call per scrape, not meant per event. The
// snapshot is not atomic across fields.
func (t *Tracker) Stats() Stats {
	var st Stats
	open := !t.closed.Load()
	now := t.cfg.Now()
	for i := range t.shards {
		s := &t.shards[i]
		c := &s.counts
		st.EventsAccepted += c.accepted.Load()
		st.EventsDeduplicated += c.dedup.Load()
		st.CheckpointsWritten += c.written.Load()
		st.CheckpointsStale += c.stale.Load()
		st.Retries += c.retries.Load()
		st.Deferred += c.deferred.Load()
		st.Flushes += c.flushes.Load()
		for j := range st.WriteFailures {
			st.WriteFailures[j] += c.failures[j].Load()
		}
		for j := range st.Evicted {
			st.Evicted[j] += c.evicted[j].Load()
		}
		st.BreakerOpens += s.status.breakerOpens.Load()
		if !open {
			continue
		}
		if s.breaker.open() {
			st.BreakersOpen++
		}
		// Each unstored session once: queued ones (on the stack or held)
		// and failing ones are disjoint, as a failing entry observed
		// again is not counted queued (lifecycle.go). Observe and the
		// flusher may pass each other for one cycle.
		dirty := int(s.dirty.unstored() + s.status.failing.Load())
		st.DirtySessions += dirty
		if dirty > 0 {
			st.OldestDirtyAge = max(st.OldestDirtyAge, now.Sub(time.Unix(0, s.status.cleanAt.Load())))
		}
	}
	for i := range t.rejected {
		st.EventsRejected[i] = t.rejected[i].Load()
	}
	if open {
		st.Sessions = int(t.live.Load())
		st.Goroutines = len(t.shards)
	}
	st.CloseUnflushed = int(t.closeUnflushed.Load())
	return st
}
