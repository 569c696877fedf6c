package relay

import "github.com/lastevent/lastevent/sse"

// Event is an upstream event the relay keeps: an immutable copy whose three
// fields share one allocation. ID is nil for an event that carried no id
// field of its own.
type Event struct {
	ID, Type, Data []byte
}

// copyEvent copies the decoder's view e, which is valid only until the next
// Decoder.Next, into an Event the relay may keep.
func copyEvent(e sse.Event) Event {
	id := e.ID
	if !e.HasID {
		id = nil
	}
	b := make([]byte, 0, len(id)+len(e.Type)+len(e.Data))
	b = append(append(append(b, id...), e.Type...), e.Data...)
	ev := Event{Type: b[len(id) : len(id)+len(e.Type) : len(id)+len(e.Type)], Data: b[len(id)+len(e.Type):]}
	if e.HasID {
		ev.ID = b[:len(id):len(id)]
	}
	return ev
}

// HasID reports whether the event carried an id of its own.
func (e Event) HasID() bool { return e.ID != nil }

// sse returns e as the sse package's Event, for writing.
func (e Event) sse() sse.Event {
	return sse.Event{ID: e.ID, Type: e.Type, Data: e.Data, HasID: e.ID != nil}
}

// Position is where a reader of the stream stands: after the event with ID
// (when Set), or at the very start of the stream. It is what an SSE client
// sends as Last-Event-ID, absent at the start.
type Position struct {
	ID  string
	Set bool
}

// After returns the position after e: e's ID if it has one, else p (an
// event without an id does not move a client's Last-Event-ID).
func (p Position) After(e Event) Position {
	if e.ID == nil {
		return p
	}
	return Position{ID: string(e.ID), Set: true}
}
