package relay

import "sync"

// buffer is a Relay's bounded replay buffer: the newest accepted events,
// in upstream order, which clients read at their own pace. Appending never
// waits for a reader, and a reader copies what it reads out under the lock
// and writes it to its client after releasing it, so no client, however
// slow, holds up the upstream reader or another client.
//
// It covers a contiguous stretch of the upstream stream: the events after
// base, up to the newest. A client whose position is base, or the ID of a
// retained event, continues from the buffer; any other position (older
// than the buffer, or one it never saw, as after a restart) is served by a
// catch-up stream until it meets the buffer.
//
// Memory: len(ring) events and an index of their IDs, whatever the number
// of clients. Safe for concurrent use: one writer, any number of readers.
type buffer struct {
	mu    sync.Mutex
	ring  []Event
	first uint64            // absolute position of the oldest retained event
	next  uint64            // absolute position of the next appended event
	index map[string]uint64 // event ID -> absolute position, retained events only
	// base is the position just before first. baseOK is false when no
	// client position can stand there: the evicted event had no ID.
	base   Position
	baseOK bool
	// wake is closed by the next append, for readers waiting for it. A new
	// one is made only when a reader took the current one (armed), so that
	// appends no client waits for allocate nothing.
	wake  chan struct{}
	armed bool
}

func newBuffer(size int, base Position) *buffer {
	return &buffer{
		ring:   make([]Event, size),
		index:  make(map[string]uint64, size),
		base:   base,
		baseOK: true,
		wake:   make(chan struct{}),
	}
}

// append adds e as the newest event, evicting the oldest when full, and
// wakes every waiting reader.
func (b *buffer) append(e Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	size := uint64(len(b.ring))
	if b.next-b.first == size {
		old := &b.ring[b.first%size]
		if old.ID != "" {
			if b.index[old.ID] == b.first {
				delete(b.index, old.ID)
			}
			b.base, b.baseOK = At(old.ID), true
		} else {
			b.baseOK = false
		}
		*old = Event{}
		b.first++
	}
	b.ring[b.next%size] = e
	if e.ID != "" {
		b.index[e.ID] = b.next // the ID's string views e: no allocation
	}
	b.next++
	if b.armed {
		close(b.wake)
		b.wake, b.armed = make(chan struct{}), false
	}
}

// locate returns where a client at position p continues in the buffer, or
// ok false if the buffer does not hold p; wake is closed by the next
// append, so a caller that got ok false can wait for the buffer to move
// and ask again.
func (b *buffer) locate(p Position) (at uint64, ok bool, wake <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.armed = true
	if b.baseOK && p == b.base {
		return b.first, true, b.wake
	}
	if p.Set {
		if i, found := b.index[p.ID]; found {
			return i + 1, true, b.wake
		}
	}
	return 0, false, b.wake
}

// read copies the events from absolute position at on into dst (up to its
// capacity) and returns them, the position after them, and a channel
// closed by the next append, for a reader that got none. ok is false when
// at has been evicted: the reader fell more than the buffer's size behind.
func (b *buffer) read(at uint64, dst []Event) (events []Event, next uint64, wake <-chan struct{}, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	dst = dst[:0]
	if at < b.first {
		return dst, at, nil, false
	}
	size := uint64(len(b.ring))
	for ; at < b.next && len(dst) < cap(dst); at++ {
		dst = append(dst, b.ring[at%size])
	}
	if len(dst) == 0 {
		b.armed = true
		return dst, at, b.wake, true
	}
	return dst, at, nil, true
}

// len returns the number of events held.
func (b *buffer) len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return int(b.next - b.first)
}
