package testmodel

import "slices"

// Session is the exact sequential specification of one session of a
// shard.Tracker: which replays are duplicates and which checkpoint each
// accepted event makes. The zero value is a session with no events.
type Session struct {
	// Window is the IDs a replay of which is a duplicate, oldest first: the
	// last W accepted IDs, or fewer after Forget or Reload.
	Window []string
	// History[k] is the ID accepted with Seq k+1, across restarts and
	// evictions: its length is the session's Seq.
	History []string
}

// Seq is the Seq of the newest accepted event (0 if none).
func (s *Session) Seq() uint64 { return uint64(len(s.History)) }

// Last is the newest accepted ID ("" if none).
func (s *Session) Last() string {
	if len(s.History) == 0 {
		return ""
	}
	return s.History[len(s.History)-1]
}

// Observe is Observe of a valid ID with a window of w: a duplicate (false)
// iff id is in the window; otherwise id is accepted with Seq+1 and pushes
// the oldest ID out of a full window.
func (s *Session) Observe(id string, w int) (accepted bool) {
	if slices.Contains(s.Window, id) {
		return false
	}
	s.History = append(s.History, id)
	s.Window = append(s.Window, id)
	if len(s.Window) > w {
		s.Window = s.Window[1:]
	}
	return true
}

// Reload is what a session loaded from its stored newest checkpoint knows
// (Resume of a session not in memory): only that ID is in the window.
func (s *Session) Reload() {
	s.Window = nil
	if len(s.History) > 0 {
		s.Window = []string{s.Last()}
	}
}

// Forget is what a session that left memory (evicted, or not resumed after
// a restart) knows on its next plain Observe: nothing, so its window is
// empty and a replay of its last ID is accepted again.
func (s *Session) Forget() { s.Window = nil }

// Reset is what a session knows after a Delete whose backend delete
// succeeded: nothing at all, so its next accepted ID has Seq 1.
func (s *Session) Reset() { s.Window, s.History = nil, nil }

// Clone returns a deep copy.
func (s Session) Clone() Session {
	return Session{Window: slices.Clone(s.Window), History: slices.Clone(s.History)}
}
