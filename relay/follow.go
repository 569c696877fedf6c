package relay

import (
	"context"
	"errors"
	"time"

	"github.com/lastevent/lastevent/internal/backoff"
	"github.com/lastevent/lastevent/sse"
)

// Follow reads an event stream without a Tracker, from position from, and
// calls handle with every event in stream order until ctx ends (it returns
// ctx.Err()), handle returns an error (Follow returns it), or, with
// cfg.StopOnReject, the upstream rejects the position (an error wrapping
// ErrRejected). It is an EventSource in Go: after a disconnect it
// reconnects with the position after the last event handed on, waiting the
// stream's retry plus a full-jitter backoff. Every failure is reported to
// cfg.OnError and cfg.Logger.
//
// With cfg.MaxOverlap > 0 it drops what an at-least-once upstream resends
// before the requested events by matching the position it asked for (see
// FollowConfig.MaxOverlap): that is how a relay's catch-up stream, which
// serves one client and has no Tracker, avoids repeating what the client
// has. An invalid cfg yields an error naming the field.
//
// handle runs on Follow's goroutine and the Event is its to keep. Each
// connection decodes on one goroutine of its own (so that Settle can end a
// wait while a read blocks), which ends before the connection does.
func Follow(ctx context.Context, cfg FollowConfig, from Position, handle func(Event) error) error {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return err
	}
	src := &source{url: cfg.URL, client: cfg.Client, header: cfg.Header, minB: cfg.MinBackoff, maxB: cfg.MaxBackoff,
		rep: newReporter(cfg.OnError, cfg.Logger), describe: "stream"}
	return follow(ctx, src, cfg, from, handle, nil)
}

// follow is Follow on a prepared source. onConnect, if set, is called
// after each connection is answered.
func follow(ctx context.Context, src *source, cfg FollowConfig, from Position, handle func(Event) error, onConnect func()) error {
	pos := from
	var retry time.Duration
	failures := 0
	for first := true; ; first = false {
		if !first {
			delay := reconnectDelay(retry, cfg.MinBackoff, cfg.MaxBackoff, failures)
			cfg.Logger.Info("relay: "+src.describe+" disconnected, reconnecting", "url", src.url, "last_event_id", pos.ID, "reconnect_in", delay)
			if err := backoff.Wait(ctx, delay, nil); err != nil {
				return err
			}
		}
		c := followConn{src: src, cfg: &cfg, anchor: pos, anchoring: cfg.MaxOverlap > 0 && pos.Set}
		delivered, err := c.run(ctx, handle, &pos, onConnect)
		if c.retrySet {
			retry = c.retry
		}
		var he handlerError
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.As(err, &he):
			return he.err
		case cfg.StopOnReject && errors.Is(err, ErrRejected):
			return err
		}
		if delivered {
			failures = 0
		} else {
			failures++
		}
	}
}

// followConn is one connection of Follow.
type followConn struct {
	src *source
	cfg *FollowConfig
	// anchor is the position asked for; while anchoring, events are held
	// until its ID reappears or the hold resolves otherwise.
	anchor    Position
	anchoring bool
	retry     time.Duration
	retrySet  bool
}

// run makes the connection and hands its events on until it ends. It
// reports whether any event was handed on; *pos is advanced past each.
// Every failure is reported here.
func (c *followConn) run(ctx context.Context, handle func(Event) error, pos *Position, onConnect func()) (delivered bool, err error) {
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	body, err := c.src.open(cctx, c.anchor)
	if err != nil {
		if ctx.Err() != nil {
			return false, err
		}
		return false, c.src.fail(KindConnect, err)
	}
	defer body.Close()
	if onConnect != nil {
		onConnect()
	}

	// The decoder runs on its own goroutine so that the settle timer can
	// fire while a read blocks. run owns it: cancel ends its read, and run
	// waits for it before returning.
	events := make(chan Event, 64)
	done := make(chan struct{})
	var readErr error
	dec := sse.NewDecoder(body)
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
		c.anchoring = false
		for _, e := range held {
			if err := hand(handle, e); err != nil {
				return err
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
				if ctx.Err() != nil {
					return delivered, ctx.Err()
				}
				return delivered, c.src.fail(KindStream, streamErr(readErr))
			}
			if c.anchoring {
				if e.ID == c.anchor.ID {
					// The position matched: everything held, and the
					// anchor itself, was the overlap.
					c.anchoring, held = false, nil
					settle.Stop()
					continue
				}
				held = append(held, e)
				if len(held) >= c.cfg.MaxOverlap {
					if err := release(); err != nil {
						return delivered, err
					}
				} else {
					settle.Reset(c.cfg.Settle)
				}
				continue
			}
			if err := hand(handle, e); err != nil {
				return delivered, err
			}
			delivered = true
			*pos = pos.After(e)
		case <-settle.C:
			if c.anchoring && len(held) > 0 {
				if err := release(); err != nil {
					return delivered, err
				}
			}
		case <-ctx.Done():
			return delivered, ctx.Err()
		}
	}
}
