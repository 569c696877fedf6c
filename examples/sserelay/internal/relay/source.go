package relay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/lastevent/lastevent/sse"
)

// ErrRejected is returned by Follow with FollowOptions.StopOnReject when
// the upstream answers a connection with a 4xx status other than 429: it
// will not serve that position, and asking again will not help.
var ErrRejected = errors.New("sserelay: upstream rejected the stream")

// Source is an upstream event stream: where it is and how to reconnect to
// it. Its fields must not change once Follow runs; a Source may be followed
// by any number of goroutines at once.
type Source struct {
	// URL of the upstream stream.
	URL string
	// Client makes the requests; it must not set a Timeout, which would
	// cut long-lived streams. Default: a client with no timeout.
	Client *http.Client
	// MaxOverlap is the most already-delivered events the upstream may
	// resend before the ones after Last-Event-ID when it is reconnected
	// (an at-least-once upstream). See FollowOptions.Anchor.
	MaxOverlap int
	// Settle is how long a quiet upstream ends the wait for the anchor:
	// an upstream sends its replayed overlap as one burst right after it
	// answers. Default 500ms.
	Settle time.Duration
	// MinBackoff and MaxBackoff bound the wait before a reconnect. The
	// first wait is the upstream's retry field if it sent one, else
	// MinBackoff; it doubles after each connection that delivered no
	// event, up to MaxBackoff, with ±20% jitter. Defaults 100ms and 5s.
	MinBackoff, MaxBackoff time.Duration
	// Logger receives connection logs. Default slog.Default().
	Logger *slog.Logger
}

// FollowOptions says how Follow positions each connection.
type FollowOptions struct {
	// Start is the position of the first connection.
	Start Position
	// Position, if set, is asked before every reconnect for the
	// Last-Event-ID to send; if nil, Follow sends the position after the
	// last event it handled.
	Position func() Position
	// Anchor makes Follow drop the upstream's replayed overlap itself on a
	// connection that starts at an ID: it holds the first events back
	// until the anchor (the ID sent as Last-Event-ID) reappears, and then
	// drops them with it, or until MaxOverlap events have arrived without
	// it, or the upstream is quiet for Settle, and then hands them on: the
	// upstream replayed nothing. Held events are discarded if the
	// connection ends first; the next connection asks for the same
	// position. AnchorOnce anchors until a connection resolved it and
	// MaxOverlap events followed (a caller that deduplicates by itself
	// afterwards, like the relay's Tracker, whose window then covers any
	// overlap); AnchorEvery anchors every connection.
	Anchor AnchorMode
	// StopOnReject makes Follow return ErrRejected on a 4xx answer other
	// than 429 instead of retrying.
	StopOnReject bool
}

// AnchorMode selects when Follow drops the upstream's replayed overlap
// itself; see FollowOptions.Anchor.
type AnchorMode uint8

const (
	// AnchorNever hands on every event.
	AnchorNever AnchorMode = iota
	// AnchorOnce anchors connections until one resolved the anchor and
	// MaxOverlap events were handed on after it.
	AnchorOnce
	// AnchorEvery anchors every connection that starts at an ID.
	AnchorEvery
)

// Follow reads the upstream from opts.Start, reconnecting after every
// disconnect with backoff, and calls handle with each event in upstream
// order (minus the anchored overlap). It returns when ctx ends (ctx.Err()),
// when handle returns an error (that error), or with ErrRejected (see
// StopOnReject). handle runs on Follow's goroutine; the Event is the
// handler's to keep.
func (s *Source) Follow(ctx context.Context, opts FollowOptions, handle func(Event) error) error {
	pos := opts.Start
	anchoring := opts.Anchor != AnchorNever
	retry := time.Duration(0) // the upstream's retry field, once sent
	failures := 0
	// handed counts the events handed on since the first anchor resolved:
	// AnchorOnce anchors until MaxOverlap of them, because until then a
	// reconnect's overlap can still reach back before the first anchor.
	resolvedOnce, handed := false, 0
	counted := func(e Event) error {
		if resolvedOnce {
			handed++
		}
		return handle(e)
	}
	for {
		// Only a connection that starts at an ID can get an overlap.
		needAnchor := anchoring && pos.Set && s.MaxOverlap > 0
		c := connection{src: s, anchor: pos, anchoring: needAnchor}
		delivered, resolved, err := c.run(ctx, counted, &pos)
		if c.retrySet {
			retry = c.retry
		}
		if resolved && !resolvedOnce {
			resolvedOnce = true
			handed = 0 // only what follows the anchor: the overlap was dropped
		}
		if opts.Anchor == AnchorOnce && ((resolvedOnce && handed >= s.MaxOverlap) || !needAnchor) {
			anchoring = false
		}
		var he handlerError
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.As(err, &he):
			return he.err
		case opts.StopOnReject && errors.Is(err, ErrRejected):
			return err
		}
		if delivered {
			failures = 0
		} else {
			failures++
		}
		delay := s.backoff(retry, failures)
		s.logger().Info("sserelay: upstream disconnected", "url", s.URL, "last_event_id", pos.ID, "error", err, "reconnect_in", delay)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		if opts.Position != nil {
			pos = opts.Position()
		}
	}
}

// handlerError carries an error returned by the caller's handle out of a
// connection, so that Follow returns it as it is.
type handlerError struct{ err error }

func (e handlerError) Error() string { return e.err.Error() }

func (s *Source) backoff(retry time.Duration, failures int) time.Duration {
	minB, maxB := s.MinBackoff, s.MaxBackoff
	if minB <= 0 {
		minB = 100 * time.Millisecond
	}
	if maxB <= 0 {
		maxB = 5 * time.Second
	}
	d := minB
	if retry > 0 {
		d = retry
	}
	for i := 1; i < failures && d < maxB; i++ {
		d *= 2
	}
	d = min(d, max(maxB, retry)) // an upstream's retry above MaxBackoff wins: it asked for it
	jitter := 0.8 + 0.4*rand.Float64()
	return time.Duration(float64(d) * jitter)
}

func (s *Source) settle() time.Duration {
	if s.Settle > 0 {
		return s.Settle
	}
	return 500 * time.Millisecond
}

func (s *Source) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

func (s *Source) client() *http.Client {
	if s.Client != nil {
		return s.Client
	}
	return http.DefaultClient
}

// connection is one request to the upstream.
type connection struct {
	src       *Source
	anchor    Position
	anchoring bool
	retry     time.Duration
	retrySet  bool
}

// run makes one connection and hands its events on until it ends. It
// reports whether any event was handed on and whether the anchor was
// resolved. *pos is advanced past every event handed on.
func (c *connection) run(ctx context.Context, handle func(Event) error, pos *Position) (delivered, resolved bool, err error) {
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, http.MethodGet, c.src.URL, nil)
	if err != nil {
		return false, false, err
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-cache")
	if c.anchor.Set {
		req.Header.Set("Last-Event-ID", c.anchor.ID)
	}
	resp, err := c.src.client().Do(req)
	if err != nil {
		return false, false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		err := fmt.Errorf("upstream answered %s", resp.Status)
		if resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests {
			err = fmt.Errorf("%w: %s", ErrRejected, resp.Status)
		}
		return false, false, err
	}

	// The decoder runs on its own goroutine so that the settle timer can
	// fire while a Read blocks. It is owned by run: cancel ends its Read,
	// and run waits for it before returning.
	events := make(chan Event, 64)
	done := make(chan struct{})
	var readErr error
	dec := sse.NewDecoder(resp.Body)
	go func() {
		defer close(done)
		defer close(events)
		for {
			e, err := dec.Next()
			if err != nil {
				readErr = err
				return
			}
			select {
			case events <- copyEvent(e):
			case <-cctx.Done():
				readErr = cctx.Err()
				return
			}
		}
	}()
	defer func() {
		cancel()
		<-done
		if d, ok := dec.Retry(); ok { // read after the goroutine ended: no race
			c.retry, c.retrySet = d, true
		}
	}()

	var held []Event
	settle := time.NewTimer(time.Hour)
	settle.Stop()
	defer settle.Stop()
	release := func() error {
		c.anchoring, resolved = false, true
		for _, e := range held {
			if err := handle(e); err != nil {
				return handlerError{err}
			}
			delivered = true
			*pos = pos.After(e)
		}
		held = nil
		return nil
	}
	for {
		select {
		case e, ok := <-events:
			if !ok {
				<-done
				if errors.Is(readErr, io.EOF) {
					readErr = io.ErrUnexpectedEOF // an event stream has no end
				}
				return delivered, resolved, readErr
			}
			if c.anchoring {
				if e.ID != nil && string(e.ID) == c.anchor.ID {
					c.anchoring, resolved, held = false, true, nil // the overlap, anchor included
					settle.Stop()
					continue
				}
				held = append(held, e)
				if len(held) >= c.src.MaxOverlap {
					if err := release(); err != nil {
						return delivered, resolved, err
					}
				} else {
					settle.Reset(c.src.settle())
				}
				continue
			}
			if err := handle(e); err != nil {
				return delivered, resolved, handlerError{err}
			}
			delivered = true
			*pos = pos.After(e)
		case <-settle.C:
			if c.anchoring && len(held) > 0 {
				if err := release(); err != nil {
					return delivered, resolved, err
				}
			}
		case <-ctx.Done():
			return delivered, resolved, ctx.Err()
		}
	}
}
