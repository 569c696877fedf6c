package relay

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/lastevent/lastevent/sse"
)

// batchSize is how many buffered events a client copies out per lock of
// the buffer and writes under one write deadline.
const batchSize = 64

var (
	// errFellBehind: the client's next event left the buffer before the
	// client read it; it continues from a catch-up stream.
	errFellBehind = errors.New("relay: client fell behind the buffer")
	// errSlowClient: a write to the client blocked for WriteTimeout.
	errSlowClient = errors.New("relay: slow client disconnected")
)

// client is one client stream, served on its ServeHTTP goroutine: from the
// buffer while the buffer holds its position, from a catch-up stream of
// the upstream while it does not. It is the only writer of its stream, and
// sends heartbeats from the same loop, so it owns no goroutine except a
// catch-up's.
type client struct {
	r      *Relay
	w      *sse.Writer
	rc     *http.ResponseController
	ctx    context.Context
	remote string
	pos    Position
	beat   *time.Ticker
	// wrote says something was written since the last heartbeat tick: a
	// busy stream needs no heartbeat.
	wrote bool
	// deadlines is false once the response refused a write deadline.
	deadlines bool
	batch     []Event
	one       [1]Event
}

func newClient(r *Relay, rw http.ResponseWriter, req *http.Request, w *sse.Writer, pos Position) *client {
	return &client{
		r: r, w: w, rc: http.NewResponseController(rw), ctx: req.Context(), remote: req.RemoteAddr,
		pos: pos, deadlines: true, batch: make([]Event, 0, batchSize),
	}
}

// serve streams until the client goes away, a write fails, or the Relay
// closes (ErrClosed).
func (c *client) serve() error {
	c.beat = time.NewTicker(c.r.cfg.Heartbeat)
	defer c.beat.Stop()
	c.setDeadline()
	if err := c.w.WriteRetry(c.r.cfg.ClientRetry); err != nil {
		return c.writeFailed(err)
	}
	for {
		if at, ok, _ := c.r.buf.locate(c.pos); ok {
			err := c.fromBuffer(at)
			if !errors.Is(err, errFellBehind) {
				return err
			}
			c.r.counters.fellBehind.Add(1)
			c.r.cfg.Logger.Info("relay: client fell behind the buffer, catching up from upstream",
				"remote", c.remote, "last_event_id", c.pos.ID)
			continue
		}
		if err := c.catchUp(); err != nil {
			return err
		}
	}
}

// fromBuffer writes the buffer's events from absolute position at on,
// following appends, until the client falls behind (errFellBehind), a
// write fails, or the stream ends.
func (c *client) fromBuffer(at uint64) error {
	for {
		events, next, wake, ok := c.r.buf.read(at, c.batch)
		if !ok {
			return errFellBehind
		}
		if len(events) > 0 {
			err := c.write(events)
			clear(events) // let the buffer's evictions free them
			if err != nil {
				return err
			}
			at = next
			if err := c.ended(); err != nil {
				return err
			}
			continue
		}
		select {
		case <-wake:
		case <-c.beat.C:
			if err := c.heartbeat(); err != nil {
				return err
			}
		case <-c.ctx.Done():
			return c.ctx.Err()
		case <-c.r.stop:
			return ErrClosed
		}
	}
}

// catchUp serves the client from a catch-up stream of its own, opened at
// its position, until the buffer holds the client's position (it returns
// nil, and the client continues from the buffer), a write fails, the
// upstream rejects the position, or the stream ends.
//
// The two streams meet because both are the upstream's one order: once the
// last event the client got is in the buffer, the buffer's events after it
// are exactly the ones the client lacks. The upstream's overlap on each
// catch-up connection is dropped by matching the client's position
// (FollowConfig.MaxOverlap), since no Tracker knows what this one client
// has.
func (c *client) catchUp() error {
	if met, err := c.acquire(); met || err != nil {
		return err
	}
	defer func() { <-c.r.slots }()
	c.r.counters.catchUps.Add(1)
	c.r.counters.catchUpsActive.Add(1)
	defer c.r.counters.catchUpsActive.Add(-1)
	c.r.cfg.Logger.Info("relay: client position not in buffer, catching up from upstream",
		"remote", c.remote, "last_event_id", c.pos.ID, "set", c.pos.Set)

	cctx, cancel := context.WithCancel(c.ctx)
	events := make(chan Event)
	result := make(chan error, 1)
	go func() {
		result <- follow(cctx, c.r.catchUp, c.r.cfg.follow(), c.pos, func(e Event) error {
			select {
			case events <- e:
				return nil
			case <-cctx.Done():
				return cctx.Err()
			}
		}, nil)
	}()
	ended := false
	defer func() {
		cancel()
		if !ended {
			<-result // the catch-up goroutine is this call's: wait for it
		}
	}()
	for {
		_, ok, wake := c.r.buf.locate(c.pos)
		if ok {
			return nil
		}
		select {
		case e := <-events:
			c.one[0] = e
			err := c.write(c.one[:])
			c.one[0] = Event{}
			if err != nil {
				return err
			}
		case <-wake:
		case err := <-result:
			ended = true
			if errors.Is(err, ErrRejected) {
				c.setDeadline()
				_ = c.w.WriteComment(fmt.Sprintf("cannot resume after Last-Event-ID %q: %v", c.pos.ID, err))
			}
			return fmt.Errorf("relay: catch-up after %q: %w", c.pos.ID, err)
		case <-c.beat.C:
			if err := c.heartbeat(); err != nil {
				return err
			}
		case <-c.ctx.Done():
			return c.ctx.Err()
		case <-c.r.stop:
			return ErrClosed
		}
	}
}

// acquire takes a catch-up slot, waiting (with heartbeats) while
// MaxCatchUps streams run. It reports met instead when the buffer came to
// hold the client's position meanwhile: no catch-up is needed.
func (c *client) acquire() (met bool, err error) {
	for {
		_, ok, wake := c.r.buf.locate(c.pos)
		if ok {
			return true, nil
		}
		select {
		case c.r.slots <- struct{}{}:
			return false, nil
		case <-wake:
		case <-c.beat.C:
			if err := c.heartbeat(); err != nil {
				return false, err
			}
		case <-c.ctx.Done():
			return false, c.ctx.Err()
		case <-c.r.stop:
			return false, ErrClosed
		}
	}
}

// write writes events under one write deadline and advances the client's
// position past each one written.
func (c *client) write(events []Event) error {
	c.setDeadline()
	for i := range events {
		if err := c.w.WriteEvent(events[i].sse()); err != nil {
			c.r.counters.sent.Add(int64(i))
			return c.writeFailed(err)
		}
		c.pos = c.pos.After(events[i])
	}
	c.wrote = true
	c.r.counters.sent.Add(int64(len(events)))
	return nil
}

// heartbeat writes a comment unless the stream was busy since the last
// tick.
func (c *client) heartbeat() error {
	if c.wrote {
		c.wrote = false
		return nil
	}
	c.setDeadline()
	if err := c.w.WriteComment("heartbeat"); err != nil {
		return c.writeFailed(err)
	}
	return nil
}

// ended returns the reason the stream must end, or nil: checked between
// batches, so that a client kept busy still sees Close.
func (c *client) ended() error {
	select {
	case <-c.ctx.Done():
		return c.ctx.Err()
	case <-c.r.stop:
		return ErrClosed
	default:
		return nil
	}
}

// setDeadline gives the next writes WriteTimeout to complete. A response
// that cannot take a deadline (a wrapper without Unwrap) is served without
// one, and reported once per client.
func (c *client) setDeadline() {
	if !c.deadlines {
		return
	}
	if err := c.rc.SetWriteDeadline(time.Now().Add(c.r.cfg.WriteTimeout)); err != nil {
		c.deadlines = false
		c.r.rep.report(&Error{Kind: KindClient, Session: c.r.cfg.Session, URL: c.r.cfg.URL,
			Err: fmt.Errorf("client %s is served without a write deadline, so it cannot be detected as slow: %w", c.remote, err)})
	}
}

// writeFailed files a failed write: one that hit the write deadline is a
// slow client, disconnected; any other means the client went away.
func (c *client) writeFailed(err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		c.r.counters.slow.Add(1)
		c.r.cfg.Logger.Info("relay: slow client disconnected", "remote", c.remote,
			"last_event_id", c.pos.ID, "write_timeout", c.r.cfg.WriteTimeout)
		return errSlowClient
	}
	return err
}
