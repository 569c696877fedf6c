package shard

import (
	"strings"
	"unsafe"

	"github.com/cespare/xxhash/v2"

	"github.com/lastevent/lastevent/core"
)

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
	e, known := t.sessions.Load(session)
	var s *shard
	if known {
		s = &t.shards[e.shard]
	} else {
		// A new session is created only for a valid name and event ID.
		if err := core.ValidateSession(session); err != nil {
			return false, err
		}
		if err := core.CheckEventIDBytes(eventID); err != nil {
			return false, err
		}
		s = t.shardOf(session)
		if e, err = t.create(s, session, nil); err != nil {
			return false, err
		}
	}
	h := xxhash.Sum64String(eventID)
	// The closed check, the observation and the queueing form one critical
	// section under the session's writer flag. Close waits out every such
	// section before its final drain, so an Observe either is queued in time
	// to be written or sees closed and changes nothing.
	e.Lock()
	st := e.state.Load()
	if goneState(st) { // rare: its flusher evicted or deleted it meanwhile
		e.Unlock()
		if e, err = t.lockLive(s, e, nil); err != nil {
			return false, err
		}
		st = e.state.Load()
	}
	if t.closed.Load() {
		e.Unlock()
		s.dropIfEmpty(e) // this Observe may have created it
		return false, ErrClosed
	}
	if e.HasLocked(h) {
		// Count it in the slot and have the flusher collect the count by
		// the next cycle; set the CLOCK reference bit. The state word is
		// the one loaded with the writer flag: one load per event.
		if n := e.countDuplicateLocked(); n > 0 {
			s.counts.dedup.Add(n)
		}
		e.reference(st)
		if st&flagQueued == 0 {
			s.mustQueueLocked(e, false)
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
	s.mustQueueLocked(e, true)
	e.Unlock()
	return true, nil
}

// mustQueueLocked queues e (shard.queueLocked) for an Observe or Resume
// that holds e's writer flag and found the tracker open under it. Close
// marks the tracker closed and then takes every writer flag once
// (Tracker.quiesce) before it seals a dirty stack, so the stack cannot be
// sealed here: if it is, that order was broken, and an accepted event would
// be lost silently.
func (s *shard) mustQueueLocked(e *entry, unstored bool) {
	if !s.queueLocked(e, unstored) {
		panic("lastevent: internal error: a session was queued after Close sealed its shard")
	}
}
