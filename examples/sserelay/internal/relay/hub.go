package relay

import "sync"

// hub is the relay's bounded replay buffer: the newest events the relay
// forwarded, in order, which downstream clients read at their own pace.
//
// It covers a contiguous stretch of the upstream stream: the events after
// base and up to the newest. A client whose position is base, or the ID of
// a retained event, continues from the hub; any other position (older than
// the hub, or one the hub never saw, as after a relay restart) is served
// from the upstream by a catch-up stream until it meets the hub.
//
// Safe for concurrent use: one writer (the shared upstream reader) and any
// number of readers.
type hub struct {
	mu    sync.Mutex
	ring  []Event
	first uint64            // absolute position of the oldest retained event
	next  uint64            // absolute position of the next appended event
	index map[string]uint64 // event ID -> absolute position, retained events only
	// base is the position just before first. baseOK is false when no
	// client position can stand there: the evicted event had no ID.
	base   Position
	baseOK bool
	wake   chan struct{} // closed and replaced by every append
}

func newHub(size int, base Position) *hub {
	return &hub{
		ring:   make([]Event, size),
		index:  make(map[string]uint64, size),
		base:   base,
		baseOK: true,
		wake:   make(chan struct{}),
	}
}

// append adds e as the newest event, evicting the oldest when full, and
// wakes every waiting reader.
func (h *hub) append(e Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	size := uint64(len(h.ring))
	if h.next-h.first == size {
		old := h.ring[h.first%size]
		if old.ID != nil {
			id := string(old.ID)
			if h.index[id] == h.first {
				delete(h.index, id)
			}
			h.base, h.baseOK = Position{ID: id, Set: true}, true
		} else {
			h.baseOK = false
		}
		h.ring[h.first%size] = Event{}
		h.first++
	}
	h.ring[h.next%size] = e
	if e.ID != nil {
		h.index[string(e.ID)] = h.next
	}
	h.next++
	close(h.wake)
	h.wake = make(chan struct{})
}

// locate returns where a client at position p continues in the hub, or
// ok false if the hub does not hold p; wake is closed by the next append,
// so a caller that got ok false can wait for the hub to move and ask again.
func (h *hub) locate(p Position) (pos uint64, ok bool, wake <-chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.baseOK && p == h.base {
		return h.first, true, h.wake
	}
	if p.Set {
		if i, found := h.index[p.ID]; found {
			return i + 1, true, h.wake
		}
	}
	return 0, false, h.wake
}

// read copies the events from absolute position pos on into dst (up to its
// capacity) and returns them, the position after them, and a channel closed
// by the next append for a reader that got none. ok is false when pos has
// been evicted: the reader fell more than the hub's size behind.
func (h *hub) read(pos uint64, dst []Event) (events []Event, next uint64, wake <-chan struct{}, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if pos < h.first {
		return dst[:0], pos, h.wake, false
	}
	size := uint64(len(h.ring))
	dst = dst[:0]
	for ; pos < h.next && len(dst) < cap(dst); pos++ {
		dst = append(dst, h.ring[pos%size])
	}
	return dst, pos, h.wake, true
}
