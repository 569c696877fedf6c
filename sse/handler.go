package sse

import (
	"context"
	"net/http"
	"sync"
	"time"
)

// Handler is an http.Handler that serves an event stream: it answers GET
// (and only GET) with Upgrade, sends Retry if set, runs Stream, and sends a
// comment every Heartbeat while Stream runs.
//
// A Handler is safe for concurrent use by many requests; its fields must not
// change once it serves.
type Handler struct {
	// Stream writes the events of one request until the stream ends, the
	// request's context is done, or a write fails. It receives the
	// client's Last-Event-ID through LastEventID(r). Required.
	Stream func(w *Writer, r *http.Request) error
	// Heartbeat is the interval of comment heartbeats; 0 sends none. The
	// heartbeat goroutine belongs to the request: it stops before
	// ServeHTTP returns.
	Heartbeat time.Duration
	// Retry, if positive, is sent as the stream's first field: the
	// client's reconnection time.
	Retry time.Duration
	// OnError, if set, receives the error Stream returned, unless it is
	// the request context's own error (the client went away).
	OnError func(r *http.Request, err error)
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		rw.Header().Set("Allow", http.MethodGet)
		http.Error(rw, "an event stream answers GET only", http.StatusMethodNotAllowed)
		return
	}
	w, err := Upgrade(rw)
	if err != nil {
		h.report(r, err)
		return
	}
	if h.Retry > 0 {
		if err := w.WriteRetry(h.Retry); err != nil {
			h.report(r, err)
			return
		}
	}
	ctx, cancel := context.WithCancel(r.Context())
	var wg sync.WaitGroup
	if h.Heartbeat > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			heartbeat(ctx, w, h.Heartbeat)
		}()
	}
	err = h.Stream(w, r.WithContext(ctx))
	cancel()
	wg.Wait()
	if err != nil && r.Context().Err() == nil {
		h.report(r, err)
	}
}

func (h *Handler) report(r *http.Request, err error) {
	if h.OnError != nil {
		h.OnError(r, err)
	}
}

// heartbeat writes a comment every interval until ctx is done or a write
// fails.
func heartbeat(ctx context.Context, w *Writer, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if w.WriteComment("heartbeat") != nil {
				return
			}
		}
	}
}
