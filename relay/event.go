package relay

import (
	"unsafe"

	"github.com/lastevent/lastevent/sse"
)

// Event is one upstream event as a relay keeps and serves it: an immutable
// copy, whose three strings share one allocation.
//
// ID is "" for an event that carried no id field of its own (or an empty
// one). Such an event is relayed in order but cannot be deduplicated, and
// it does not move a client's Last-Event-ID.
type Event struct {
	ID, Type, Data string
}

// copyEvent copies the decoder's view e, valid only until the next
// Decoder.Next, into an Event that may be kept: one allocation.
func copyEvent(e sse.Event) Event {
	id := e.ID
	if !e.HasID {
		id = nil
	}
	n := len(id) + len(e.Type) + len(e.Data)
	if n == 0 {
		return Event{}
	}
	b := make([]byte, 0, n)
	b = append(append(append(b, id...), e.Type...), e.Data...)
	// b is never written again, so strings may view it.
	s := unsafe.String(unsafe.SliceData(b), len(b))
	t := len(id) + len(e.Type)
	return Event{ID: s[:len(id)], Type: s[len(id):t], Data: s[t:]}
}

// sse returns e as the sse package's Event, for writing. The slices view
// e's strings: sse.Writer only reads them, during the call.
func (e Event) sse() sse.Event {
	return sse.Event{ID: view(e.ID), Type: view(e.Type), Data: view(e.Data), HasID: e.ID != ""}
}

func view(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// Position is where a reader of a stream stands: after the event whose ID
// is ID (when Set), or at the very start of the stream. It is what an SSE
// client sends as Last-Event-ID; absent, it is at the start.
type Position struct {
	ID  string
	Set bool
}

// At returns the position after the event with ID id.
func At(id string) Position { return Position{ID: id, Set: true} }

// After returns the position after e: e's ID if it has one, else p, since
// an event without an ID does not move a client's Last-Event-ID.
func (p Position) After(e Event) Position {
	if e.ID == "" {
		return p
	}
	return Position{ID: e.ID, Set: true}
}
