package testmodel

import (
	"fmt"
	"slices"

	"github.com/cespare/xxhash/v2"

	"github.com/lastevent/lastevent/core"
)

// Session is the exact sequential specification of one session of a
// shard.Tracker: which replays are duplicates and which checkpoint each
// accepted event makes. The zero value is a session with no events.
type Session struct {
	// Window is the IDs a replay of which is a duplicate, oldest first: the
	// last W accepted IDs, or fewer after Forget, Reload or Adopt.
	Window []string
	// History[k] is the ID accepted with Seq k+1, across restarts and
	// evictions: its length is the session's Seq.
	History []string
	// Stored is the window of the newest stored checkpoint, oldest first
	// (Persist): what a Reload or an Adopt seeds the window with.
	Stored []string
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

// Persist is the newest checkpoint becoming the stored one, written with
// the last k IDs of the window (Config.PersistWindow; 0 when it is off, and
// then the stored ID alone is what a Reload knows). Call it when the model
// knows the newest checkpoint stored and the entry adopted (Adopt first).
func (s *Session) Persist(k int) {
	switch {
	case len(s.History) == 0:
		s.Stored = nil
	case k == 0:
		s.Stored = []string{s.Last()}
	default:
		s.Stored = slices.Clone(s.Window[max(len(s.Window)-k, 0):])
	}
}

// Reload is what a session loaded from its stored newest checkpoint knows
// (Resume of a session not in memory): the stored window, the newest w of
// it if the tracker's window is smaller.
func (s *Session) Reload(w int) {
	s.Window = slices.Clone(s.Stored[max(len(s.Stored)-w, 0):])
}

// Adopt is an entry that accepted events before its stored history arrived
// (an Observe before Resume, or before the flusher's Load) taking that
// history: the stored IDs go below its own, each ID once, and the newest w
// stay. Adopting twice changes nothing more, so a model may apply it as
// soon as it learns that an adoption happened.
func (s *Session) Adopt(w int) {
	s.Window = s.Merged(w)
}

// Merged is the window Adopt would leave.
func (s *Session) Merged(w int) []string {
	merged := make([]string, 0, len(s.Stored)+len(s.Window))
	for _, id := range s.Stored {
		if !slices.Contains(s.Window, id) {
			merged = append(merged, id)
		}
	}
	merged = append(merged, s.Window...)
	return merged[max(len(merged)-w, 0):]
}

// MayAdopt reports whether Observe of id may be answered either way while
// an adoption may or may not have happened in the background: id is in the
// window Adopt would leave but not in the current one.
func (s *Session) MayAdopt(id string, w int) bool {
	return !slices.Contains(s.Window, id) && slices.Contains(s.Merged(w), id)
}

// Forget is what a session that left memory (evicted, or not resumed after
// a restart) knows on its next plain Observe: nothing, so its window is
// empty and a replay of its last ID is accepted again until it adopts.
func (s *Session) Forget() { s.Window = nil }

// Reset is what a session knows after a Delete whose backend delete
// succeeded: nothing at all, so its next accepted ID has Seq 1.
func (s *Session) Reset() { s.Window, s.History, s.Stored = nil, nil, nil }

// Clone returns a deep copy.
func (s Session) Clone() Session {
	return Session{Window: slices.Clone(s.Window), History: slices.Clone(s.History), Stored: slices.Clone(s.Stored)}
}

// WindowOf is the core.Window a checkpoint of ids (oldest first) carries.
func WindowOf(ids []string) core.Window {
	hs := make([]uint64, len(ids))
	for i, id := range ids {
		hs[i] = xxhash.Sum64String(id)
	}
	return core.EncodeWindow(hs)
}

// StoredIDs maps a stored window of a checkpoint at seq back to the IDs of
// history[:seq] it names, oldest first, for a model that learns a stored
// window it could not predict (a checkpoint written in the background under
// faults). It fails unless the window passes CheckWindow and its hashes
// are those of distinct IDs of history[:seq] in history order: a window
// must never name an ID the session did not accept.
func StoredIDs(w core.Window, history []string, seq uint64) ([]string, error) {
	if seq == 0 || seq > uint64(len(history)) {
		return nil, fmt.Errorf("stored seq %d outside the history of %d events", seq, len(history))
	}
	cp := core.Checkpoint{EventID: history[seq-1], Seq: seq, Window: w}
	if err := cp.CheckWindow(); err != nil {
		return nil, err
	}
	if w == "" {
		return []string{cp.EventID}, nil
	}
	ids := make([]string, w.Len())
	pos := int(seq) // every hash must name an ID older than the next one's
	for i := w.Len() - 1; i >= 0; i-- {
		h := w.Hash(i)
		j := pos - 1
		for j >= 0 && xxhash.Sum64String(history[j]) != h {
			j--
		}
		if j < 0 {
			return nil, fmt.Errorf("stored window hash %d (%016x) names no accepted ID before seq %d", i, h, pos)
		}
		ids[i], pos = history[j], j
	}
	return ids, nil
}
