package relay

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/lastevent/lastevent/sse"
)

// ServeHTTP serves the session's accepted events as a text/event-stream:
// GET streams the events after the client's position — its Last-Event-ID
// header, or, when the request has none, the Config.LastEventIDParam
// query parameter, or else the start of the stream — each exactly once and
// in upstream order, with heartbeats, until the client goes away, a write
// to it fails or times out (Config.WriteTimeout), or the Relay closes.
// OPTIONS answers CORS preflights (Config.AllowedOrigins); other methods
// get 405, a refused origin 403, a position with CR, LF or NUL 400, and
// any request after Close 503.
func (r *Relay) ServeHTTP(rw http.ResponseWriter, req *http.Request) {
	allowed := r.cors.check(rw.Header(), req)
	switch req.Method {
	case http.MethodGet:
	case http.MethodOptions:
		r.cors.preflight(rw, req, allowed)
		return
	default:
		rw.Header().Set("Allow", "GET, OPTIONS")
		http.Error(rw, "an event stream answers GET", http.StatusMethodNotAllowed)
		return
	}
	if !allowed {
		r.counters.corsDenied.Add(1)
		http.Error(rw, "origin not allowed", http.StatusForbidden)
		return
	}
	pos, from, err := r.position(req)
	if err != nil {
		http.Error(rw, err.Error(), http.StatusBadRequest)
		return
	}
	if !r.enter() {
		rw.Header().Set("Retry-After", "1")
		http.Error(rw, "relay closed", http.StatusServiceUnavailable)
		return
	}
	defer r.leave()
	w, err := sse.Upgrade(rw)
	if err != nil {
		r.rep.report(&Error{Kind: KindClient, Session: r.cfg.Session, URL: r.cfg.URL,
			Err: fmt.Errorf("client %s: %w", req.RemoteAddr, err)})
		return
	}
	r.counters.clients.Add(1)
	defer r.counters.clients.Add(-1)
	r.cfg.Logger.Info("relay: client connected", "remote", req.RemoteAddr, "last_event_id", pos.ID, "from", from)
	c := newClient(r, rw, req, w, pos)
	err = c.serve()
	switch {
	case errors.Is(err, ErrClosed), errors.Is(err, errSlowClient), req.Context().Err() != nil:
	case errors.Is(err, context.Canceled):
	default:
		// The client went away mid-write, or its catch-up was rejected
		// (reported as KindCatchUp).
		r.cfg.Logger.Debug("relay: client stream ended", "remote", req.RemoteAddr, "last_event_id", c.pos.ID, "error", err)
	}
}

// position returns where the client of req stands, and what said so
// ("header", "query" or "none"): after its Last-Event-ID header if it sent
// one (an empty one means the start: the client reset its ID), else after
// the ID in the LastEventIDParam query parameter, else at the start of the
// stream. The header wins because an EventSource that reconnects sends it
// with the URL it was opened with, whose parameter is older.
func (r *Relay) position(req *http.Request) (_ Position, from string, _ error) {
	id, ok := sse.LastEventID(req)
	from = "header"
	if !ok {
		id, from = req.URL.Query().Get(r.cfg.LastEventIDParam), "query"
	}
	if strings.ContainsAny(id, "\r\n\x00") {
		return Position{}, from, fmt.Errorf("Last-Event-ID %q: must not contain CR, LF or NUL", id)
	}
	if id == "" {
		if !ok {
			from = "none"
		}
		return Position{}, from, nil
	}
	return At(id), from, nil
}
