package relay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/lastevent/lastevent/internal/backoff"
)

const (
	// DefaultMinBackoff is the default cap of the first jittered reconnect
	// wait (see reconnectDelay).
	DefaultMinBackoff = 100 * time.Millisecond
	// DefaultMaxBackoff is the default cap of every jittered reconnect wait.
	DefaultMaxBackoff = 5 * time.Second
	// maxErrorBody is how much of a non-200 answer is read (and dropped)
	// so that its connection can be reused.
	maxErrorBody = 4 << 10
)

// source is where an upstream stream is and how to reconnect to it: what
// a Reader and Follow share.
type source struct {
	url        string
	client     *http.Client
	header     http.Header
	minB, maxB time.Duration
	session    string // for errors; "" for Follow
	rep        *reporter
	// kind, if set, files every connection and stream failure under this
	// kind: a relay's catch-up streams report KindCatchUp.
	kind     ErrorKind
	kindSet  bool
	describe string // "upstream" or "catch-up", in logs
}

// fail files err under kind (or the source's own kind) and returns it.
func (s *source) fail(kind ErrorKind, err error) *Error {
	if s.kindSet {
		kind = s.kind
	}
	e := &Error{Kind: kind, Session: s.session, URL: s.url, Err: err}
	s.rep.report(e)
	return e
}

// open makes one request for the stream after pos, and returns the body of
// a 200 text/event-stream answer. Any other outcome is an error; a 4xx
// other than 429 wraps ErrRejected.
func (s *source) open(ctx context.Context, pos Position) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return nil, err
	}
	if s.header != nil {
		req.Header = s.header.Clone()
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-cache")
	if pos.Set && pos.ID != "" {
		req.Header.Set("Last-Event-ID", pos.ID)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
		_ = resp.Body.Close()
		if resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests {
			return nil, fmt.Errorf("%w: %s", ErrRejected, resp.Status)
		}
		return nil, fmt.Errorf("upstream answered %s", resp.Status)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "text/event-stream" {
		_ = resp.Body.Close()
		return nil, fmt.Errorf("upstream answered Content-Type %q, want text/event-stream", resp.Header.Get("Content-Type"))
	}
	return resp.Body, nil
}

// reconnectDelay is the wait before a reconnect when the last failures
// connections in a row delivered no event: the upstream's retry field
// (its reconnection time, 0 if it sent none), which is honoured as a floor
// as a browser does, plus full jitter, a uniform random duration in
// [0, min(maxB, minB·2^failures)). Full jitter keeps relays that lost one
// upstream together from reconnecting together; the doubling backs off an
// upstream that is down.
func reconnectDelay(retry, minB, maxB time.Duration, failures int) time.Duration {
	return retry + backoff.FullJitter(minB, maxB, failures)
}

// streamErr turns the end of a stream into the error it is: an event
// stream has no end, so io.EOF means the upstream closed it early.
func streamErr(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
