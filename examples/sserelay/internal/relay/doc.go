// Package relay is the SSE relay example's engine, shared by its commands:
// Source follows an upstream event stream across reconnects (backoff that
// honours the upstream's retry field, and anchoring that drops a replayed
// overlap when nothing else can), and Relay forwards the events its
// lastevent Tracker accepts to downstream clients through a bounded replay
// buffer, serving a client whose Last-Event-ID the buffer does not hold
// from a catch-up stream of the upstream until it meets the buffer.
//
// Concurrency: a Source may be followed by many goroutines at once; every
// Follow call owns the goroutine it starts per connection and waits for it.
// A Relay's Run is one goroutine (the caller's); its Handler serves any
// number of clients, each owning at most one catch-up goroutine, which ends
// before the client's request does.
package relay
