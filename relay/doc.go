// Package relay is an SSE gateway on the lastevent Tracker: it reads one
// upstream Server-Sent-Events stream per session, drops the events the
// Tracker has already seen (a reconnect's replayed overlap, also across
// restarts), and serves the rest to any number of clients — browsers
// included — each from its own Last-Event-ID.
//
//	tracker, err := shard.New(backend, shard.Config{})
//	if err != nil { ... }
//	defer tracker.Close(ctx)                 // after the relay's Close
//	r, err := relay.New(ctx, relay.Config{
//		URL:            "https://upstream.example/events",
//		Session:        "orders",            // the Tracker session of that stream
//		Tracker:        tracker,
//		AllowedOrigins: []string{"https://app.example"}, // pages that may read it
//	})
//	if err != nil { ... }
//	defer r.Close(ctx)
//	http.Handle("/events", r)                // browsers: new EventSource(url + "?lastEventId=" + saved)
//
// Three parts, usable alone:
//
//   - Reader reads one session's upstream through a Tracker: it connects
//     with the Tracker's Last-Event-ID, observes each event's ID as the
//     decoder's bytes (Tracker.ObserveBytes: a duplicate allocates
//     nothing), hands accepted events on, and reconnects after the
//     upstream's retry plus a full-jitter backoff. Nothing is held back: the
//     Tracker's stored checkpoint carries the session's last PersistWindow
//     IDs, so the overlap an at-least-once upstream resends after a restart
//     is a duplicate like any other.
//   - Follow reads a stream without a Tracker, like an EventSource: the
//     relay's catch-up streams, or a Go client. With MaxOverlap it drops a
//     replayed overlap by matching the position it asked for.
//   - Relay (an http.Handler) serves one session's accepted events from a
//     bounded replay buffer, resuming each client from its Last-Event-ID
//     header or, absent that, the lastEventId query parameter (a browser
//     cannot send the header on a page's first connection); heartbeats;
//     CORS for the origins in Config.AllowedOrigins (same-origin only by
//     default).
//
// Catch-up: a client whose position the buffer does not hold (older than
// it, or unknown to a relay that just restarted) is served from an upstream
// stream of its own, opened at its position, until its position appears in
// the buffer; it then continues from the buffer, neither repeating nor
// skipping an event, since both are the upstream's one order. The client
// has no Tracker, so the catch-up drops the upstream's overlap by matching
// the client's position (Config.MaxOverlap) rather than by a window.
//
// Slow clients: appending to the buffer never waits for a client, and a
// client copies events out under the buffer's lock and writes them after
// releasing it, so a slow client holds up no one. A client that falls more
// than Config.Buffer events behind continues from a catch-up stream (at
// most Config.MaxCatchUps at once); a client whose write blocks for
// Config.WriteTimeout (it stopped reading) is disconnected. Memory is
// bounded by Config.Buffer events, whatever the clients do.
//
// Errors: every failure is filed as an *Error by kind (ErrorKind) — to
// the OnError hook, to the Logger (rate-limited per kind) and to the
// errors_total metric — and the ones that end a call are returned.
// Metrics live in a per-instance VictoriaMetrics set (Relay.Metrics,
// Reader.Metrics) named with a configurable prefix and constant labels.
//
// Concurrency and goroutines: every exported method is safe for
// concurrent use. New starts one goroutine, the upstream reader, which
// Close stops and waits for. Each client is served on its ServeHTTP
// goroutine, heartbeats included; a client on a catch-up stream owns one
// more goroutine reading that stream and one decoder goroutine per
// catch-up connection, all ended before ServeHTTP returns, which happens
// when the client goes away, a write fails or times out, or Close is
// called. Reader.Run and Follow run on the caller's goroutine (Follow adds
// one decoder goroutine per connection). Nothing starts a goroutine per
// event.
package relay
