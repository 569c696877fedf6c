package shard

import (
	"context"
	"fmt"

	"github.com/lastevent/lastevent/core"
)

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
		cp, done, err := t.resume(ctx, s, session)
		if done {
			return cp, err
		}
	}
}

// resume is one attempt of Resume. It reports done false when a Delete of
// the shard ran between its Load and its adoption: the loaded checkpoint may
// be the deleted one, which must not come back, so Resume loads again.
func (t *Tracker) resume(ctx context.Context, s *shard, session string) (_ core.Checkpoint, done bool, _ error) {
	epoch, err := s.status.deletes.settled(ctx)
	if err != nil {
		return core.Checkpoint{}, true, err
	}
	e, ok := s.sessions.Load(session)
	if ok && e.Adopted() {
		return e.checkpoint(), true, nil
	}
	var st *seat
	if !ok {
		// Room first: a Resume refused for room reads nothing.
		if st, err = t.takeSeat(); err != nil {
			return core.Checkpoint{}, true, err
		}
		defer t.release(st)
	}
	stored, err := s.load(ctx, []string{session})
	if err == nil {
		err = checkStored(stored[session])
	}
	if err != nil {
		return core.Checkpoint{}, true, fmt.Errorf("lastevent: resume %q: %w", session, err)
	}
	cp := stored[session]
	found := e
	if !ok {
		if e, err = t.create(s, session, st); err != nil {
			return core.Checkpoint{}, true, err
		}
	}
	if e, err = t.lockLive(s, e, st); err != nil {
		return core.Checkpoint{}, true, err
	}
	if s.status.deletes.phases.Load() != epoch {
		e.Unlock()
		return core.Checkpoint{}, false, nil
	}
	fresh := e != found // created here, or replaced a gone entry
	if t.closed.Load() {
		e.Unlock()
		s.dropIfEmpty(e) // this Resume may have created it
		return core.Checkpoint{}, true, ErrClosed
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
		s.mustQueueLocked(e, e.Seq() > e.storedSeq.Load())
	}
	return e.checkpoint(), true, nil
}
