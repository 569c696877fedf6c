// Package sse reads and writes text/event-stream, the wire format of
// Server-Sent Events, as the HTML specification defines it.
//
// Decoder parses a stream from an io.Reader on []byte, without allocating
// per event or per field once its buffers have grown; the events it returns
// are views valid until the next call. Writer frames events (multi-line
// data, validated id and event fields, retry, comment heartbeats) and
// flushes each one; Upgrade and Handler serve a stream over net/http.
//
//	dec := sse.NewDecoder(resp.Body)
//	for {
//		ev, err := dec.Next() // ev's slices are valid until the next Next
//		if err != nil { break } // io.EOF at the end of the stream
//		handle(ev.ID, ev.Type, ev.Data)
//	}
//
//	http.Handle("/events", &sse.Handler{Heartbeat: 15 * time.Second,
//		Stream: func(w *sse.Writer, r *http.Request) error {
//			return w.WriteEvent(sse.Event{ID: []byte("1"), Data: []byte("hello")})
//		}})
//
// Concurrency: a Decoder is for one goroutine. A Writer is safe for
// concurrent use, so a heartbeat may be written while an event is. A Handler
// serves any number of requests at once; the heartbeat goroutine it starts
// per request ends before ServeHTTP returns.
package sse
