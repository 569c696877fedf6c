package sse

// Event is one dispatched event of a text/event-stream.
//
// An Event returned by Decoder.Next is a view into the decoder's buffers: its
// byte slices are valid only until the next call to Next or Reset, and must
// be copied to be kept. An Event passed to Writer.WriteEvent is only read
// during the call.
type Event struct {
	// ID is the event's last event ID: the value of the newest id field of
	// the stream so far, not only of this event (an id persists across
	// events, as the HTML spec says). Empty when no id was set or it was
	// reset with an empty "id" field.
	ID []byte
	// Type is the event type; empty means "message". A Writer omits the
	// event field for an empty Type.
	Type []byte
	// Data is the event's data: its data lines joined with LF, without a
	// final LF.
	Data []byte
	// HasID reports whether this event's own lines carried an id field
	// (one not ignored for containing NUL), as opposed to ID being carried
	// over from an earlier event. It is not part of the HTML spec's event;
	// a relay needs it to tell a new ID from an inherited one. A Writer
	// ignores it and writes ID whenever it is non-empty.
	HasID bool
}
