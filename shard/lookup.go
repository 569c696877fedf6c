package shard

import (
	"fmt"
	"strings"

	"github.com/lastevent/lastevent/core"
)

// Finding a session's live entry. Entries leave a shard's map only on the
// flusher (evicted, deleted), after being marked under their writer flag;
// Observe and Resume find them lock-free in the map, so a caller may reach
// an entry that is already gone. lockLive takes the writer flag of the live
// entry, moving past gone ones; create and replace make entries within
// Config.MaxSessions.

// seat is room for one session under MaxSessions, taken ahead of time:
// Resume takes one before its Load, so that a Resume refused for room never
// reads the backend. create and replace use it instead of taking another;
// release gives back one they did not use. A nil *seat holds nothing.
type seat struct{ taken bool }

// takeSeat takes room for one more session, or returns ErrTooManySessions.
func (t *Tracker) takeSeat() (*seat, error) {
	if err := t.reserve(); err != nil {
		return nil, err
	}
	return &seat{taken: true}, nil
}

// claim takes room for one session: st's, if it holds some, else new room.
func (t *Tracker) claim(st *seat) error {
	if st != nil && st.taken {
		st.taken = false
		return nil
	}
	return t.reserve()
}

// release gives back st's room if nothing claimed it.
func (t *Tracker) release(st *seat) {
	if st != nil && st.taken {
		st.taken = false
		t.live.Add(-1)
	}
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
		t.shards[i].wake(wantEvict)
	}
	return fmt.Errorf("%w: %d of %d; their checkpoints are not yet stored", ErrTooManySessions, limit, limit)
}

// create returns session's entry in s, creating it if no other goroutine
// did first, with room claimed from st. The caller has validated session.
// The map key is a private copy of session, so a caller's substring of a
// larger buffer is not retained.
func (t *Tracker) create(s *shard, session string, st *seat) (*entry, error) {
	if err := t.claim(st); err != nil {
		return nil, err
	}
	made := false
	key := strings.Clone(session)
	e, _ := s.sessions.LoadOrCompute(key, func() *entry {
		made = true
		return t.newEntry(s, key)
	})
	if !made {
		t.live.Add(-1) // another goroutine's entry holds the room
	}
	return e, nil
}

func (t *Tracker) newEntry(s *shard, session string) *entry {
	e := &entry{session: session, shard: uint16(s.index)}
	_ = e.Init(t.cfg.Window) // validated in New
	return e
}

// lockLive takes the writer flag of session's live entry, starting from e,
// and returns that entry. If e is gone (its flusher evicted or deleted it
// while the caller raced to it), it moves to the entry that replaced it, or
// makes one (replace), with room claimed from st.
func (t *Tracker) lockLive(s *shard, e *entry, st *seat) (*entry, error) {
	for {
		e.Lock()
		if !goneState(e.state.Load()) {
			return e, nil
		}
		e.Unlock()
		next, err := t.replace(s, e, st)
		if err != nil {
			return nil, err
		}
		e = next
	}
}

// replace returns the entry to use in place of gone: the one now in the map
// if another goroutine put it there; otherwise a new one, put in gone's
// place. A new entry for an evicted session carries its Seq, Last-Event-ID
// and whole dedup window over (only clean entries are evicted, so that
// checkpoint is stored and no backend call is needed); one for a deleted
// session starts it again. Replacing gone while it is still in the map
// needs no room under MaxSessions; inserting after its removal does. When
// the map changed between its look and its update, replace returns gone,
// and lockLive, finding it gone, calls it again.
func (t *Tracker) replace(s *shard, gone *entry, st *seat) (*entry, error) {
	cur, present := s.sessions.Load(gone.session)
	if present && cur != gone {
		return cur, nil
	}
	if !present {
		if err := t.claim(st); err != nil {
			return nil, err
		}
	}
	evicted := !gone.deleted()
	var carried core.Checkpoint
	if evicted {
		gone.Lock() // no writer changes a gone entry: one snapshot serves
		carried = gone.persistableLocked(t.cfg.Window)
		gone.Unlock()
	}
	var made *entry
	e, _ := s.sessions.Compute(gone.session, func(c *entry, loaded bool) (*entry, bool) {
		switch {
		case loaded && c != gone:
			return c, false // replaced meanwhile: use that one
		case loaded != present:
			return c, true // removed since the look: nothing to store, look again
		}
		made = t.newEntry(s, gone.session)
		if evicted {
			made.AdoptLocked(carried) // made is not shared yet
			made.storedSeq.Store(carried.Seq)
			made.counted = carried.Seq // carried over, not accepted here
		}
		return made, false
	})
	if !present && made == nil {
		t.live.Add(-1) // the room claimed went unused
	}
	if e == nil {
		return gone, nil
	}
	return e, nil
}
