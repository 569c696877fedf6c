package relay

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/lastevent/lastevent/core"
	"github.com/lastevent/lastevent/internal/backoff"
	"github.com/lastevent/lastevent/shard"
	"github.com/lastevent/lastevent/sse"
)

// Reader reads one session's upstream event stream through a Tracker: it
// connects with the Tracker's Last-Event-ID, observes every event's ID,
// drops the duplicates (a reconnect's replayed overlap, also across
// restarts: the Tracker's stored checkpoint carries the session's last
// PersistWindow IDs), and hands each accepted event to the caller, in
// upstream order. After a disconnect it reconnects, waiting the upstream's
// retry plus a full-jitter backoff (ReaderConfig.MinBackoff).
//
// Nothing is held back: the Tracker decides at once whether an event is
// new. An event without an id of its own is handed on untracked, and so is
// one whose ID the Tracker refuses (reported as KindEventID).
//
// A Reader is safe for concurrent use, but runs one Run at a time. Run
// runs on the caller's goroutine and starts none: it decodes each
// connection's stream itself, without allocating for a duplicate.
type Reader struct {
	cfg     ReaderConfig
	src     source
	rep     *reporter
	running atomic.Bool
	stats   readerCounters
	metrics *metrics.Set // nil for a Relay's reader: the Relay's set has its numbers
}

// readerCounters are written by the one goroutine running Run: no
// contention, readers only on scrape.
type readerCounters struct {
	accepted, dropped, untracked atomic.Uint64
	connects, reconnects         atomic.Uint64
	connected                    atomic.Int64
}

// NewReader returns a Reader for cfg (zero fields take defaults), or an
// error naming the first invalid field. It makes no request and starts no
// goroutine.
func NewReader(cfg ReaderConfig) (*Reader, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate("relay: ReaderConfig"); err != nil {
		return nil, err
	}
	r := newReader(cfg, newReporter(cfg.OnError, cfg.Logger))
	r.metrics = newReaderMetrics(r)
	return r, nil
}

// newReader returns a Reader for a valid cfg, filing failures with rep.
func newReader(cfg ReaderConfig, rep *reporter) *Reader {
	r := &Reader{cfg: cfg, rep: rep}
	r.src = source{
		url: cfg.URL, client: cfg.Client, header: cfg.Header, minB: cfg.MinBackoff, maxB: cfg.MaxBackoff,
		session: cfg.Session, rep: rep, describe: "upstream",
	}
	return r
}

// Run reads the upstream until ctx ends, calling handle with every
// accepted event in upstream order. handle runs on Run's goroutine, and
// the Event is its to keep; an error from handle ends Run with that error.
//
// Run first calls Tracker.Resume, so that the session's Seq, Last-Event-ID
// and stored window continue across restarts; a failed Resume is reported
// and retried with backoff unless it is permanent. Each connection asks
// for the Tracker's LastEventID (resumed again if the Tracker evicted the
// session). Every failure is reported (OnError, Logger, metrics) and
// followed by a reconnect; Run returns only ctx.Err(), handle's error, a
// permanent Resume failure, or an error wrapping shard.ErrClosed when the
// Tracker is closed under it. A second concurrent Run returns ErrRunning.
func (r *Reader) Run(ctx context.Context, handle func(Event) error) error {
	if !r.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer r.running.Store(false)
	dec := sse.NewDecoder(nil)
	var retry time.Duration
	failures := 0
	for first := true; ; first = false {
		if !first {
			delay := reconnectDelay(retry, r.cfg.MinBackoff, r.cfg.MaxBackoff, failures)
			r.cfg.Logger.Info("relay: upstream disconnected, reconnecting", "url", r.cfg.URL,
				"session", r.cfg.Session, "reconnect_in", delay)
			if err := backoff.Wait(ctx, delay, nil); err != nil {
				return err
			}
			r.stats.reconnects.Add(1)
		}
		pos, err := r.position(ctx, first)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			r.src.fail(KindTracker, err)
			if errors.Is(err, shard.ErrClosed) || !core.IsRetryable(err) {
				return fmt.Errorf("relay: reader: %w", err)
			}
			failures++
			continue
		}
		received, err := r.connection(ctx, dec, pos, handle)
		if d, ok := dec.Retry(); ok {
			retry = d
		}
		var he handlerError
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.As(err, &he):
			return he.err
		case errors.Is(err, shard.ErrClosed):
			return fmt.Errorf("relay: reader of session %q: %w", r.cfg.Session, err)
		}
		if received {
			failures = 0
		} else {
			failures++
		}
	}
}

// position returns the Tracker's Last-Event-ID for the next connection.
// The first connection of a Run, and any whose session the Tracker no
// longer holds (evicted since), resume the session first: connecting from
// the start of the stream, or without the stored window, would accept
// events older than its window again. Resume makes no backend call for a
// session in memory that already knows its history.
func (r *Reader) position(ctx context.Context, first bool) (Position, error) {
	if !first {
		if id, ok := r.cfg.Tracker.LastEventID(r.cfg.Session); ok {
			return At(id), nil
		}
	}
	cp, err := r.cfg.Tracker.Resume(ctx, r.cfg.Session)
	if err != nil {
		return Position{}, fmt.Errorf("resume session %q: %w", r.cfg.Session, err)
	}
	if cp.IsZero() {
		return Position{}, nil
	}
	return At(cp.EventID), nil
}

// handlerError carries an error returned by the caller's handle out of a
// connection, so that Run returns it as it is.
type handlerError struct{ err error }

func (e handlerError) Error() string { return e.err.Error() }

// connection makes one connection at pos and hands its accepted events on
// until it ends; received reports whether it delivered any event. Every
// failure is reported here.
func (r *Reader) connection(ctx context.Context, dec *sse.Decoder, pos Position, handle func(Event) error) (received bool, err error) {
	body, err := r.src.open(ctx, pos)
	if err != nil {
		if ctx.Err() != nil {
			return false, err
		}
		return false, r.src.fail(KindConnect, err)
	}
	defer body.Close()
	r.stats.connects.Add(1)
	r.stats.connected.Add(1)
	defer r.stats.connected.Add(-1)
	r.cfg.Logger.Info("relay: upstream connected", "url", r.cfg.URL, "session", r.cfg.Session, "last_event_id", pos.ID)
	dec.Reset(body)
	for {
		ev, err := dec.Next()
		if err != nil {
			if ctx.Err() != nil {
				return received, err
			}
			return received, r.src.fail(KindStream, streamErr(err))
		}
		received = true
		if err := r.observe(ev, handle); err != nil {
			return received, err
		}
	}
}

// observe passes ev's ID through the Tracker and hands ev on if it is new.
// The ID is observed as the decoder's bytes: a duplicate allocates
// nothing, and only an accepted event is copied.
func (r *Reader) observe(ev sse.Event, handle func(Event) error) error {
	if !ev.HasID || len(ev.ID) == 0 {
		r.stats.untracked.Add(1)
		return hand(handle, copyEvent(ev))
	}
	accepted, err := r.cfg.Tracker.ObserveBytes(r.cfg.Session, ev.ID)
	switch {
	case err == nil && !accepted:
		r.stats.dropped.Add(1)
		return nil
	case err == nil:
		r.stats.accepted.Add(1)
		return hand(handle, copyEvent(ev))
	case errors.Is(err, core.ErrEventIDTooLong), errors.Is(err, core.ErrInvalidEventID), errors.Is(err, core.ErrEmptyEventID):
		// An ID the Tracker cannot hold is relayed untracked, like an
		// event without one, rather than lost.
		r.src.fail(KindEventID, err)
		r.stats.untracked.Add(1)
		return hand(handle, copyEvent(ev))
	default:
		// ErrClosed ends Run; anything else (ErrTooManySessions) ends the
		// connection, which resumes from the Tracker's Last-Event-ID: this
		// event and the ones after it are asked for again.
		return r.src.fail(KindTracker, err)
	}
}

func hand(handle func(Event) error, e Event) error {
	if err := handle(e); err != nil {
		return handlerError{err}
	}
	return nil
}

// Metrics returns the Reader's own metrics set (see ReaderStats for what
// each number means). The Reader never registers it globally; expose it
// with metrics.RegisterSet or set.WritePrometheus.
func (r *Reader) Metrics() *metrics.Set { return r.metrics }

// ReaderStats are a Reader's counters.
type ReaderStats struct {
	// EventsAccepted counts events the Tracker accepted and Run handed on.
	EventsAccepted uint64
	// ReplaysDropped counts events the Tracker found to be duplicates.
	ReplaysDropped uint64
	// EventsUntracked counts events handed on without deduplication: no
	// id of their own, or one the Tracker refused.
	EventsUntracked uint64
	// Connects counts upstream connections answered with a stream;
	// Reconnects counts reconnect attempts after a failure or an end.
	Connects, Reconnects uint64
	// Connected is 1 while a stream is open.
	Connected int64
	// Errors counts reported failures by kind (index: ErrorKind).
	Errors [numKinds]uint64
}

// Stats returns the Reader's counters. Each is read atomically; together
// they are not one snapshot.
func (r *Reader) Stats() ReaderStats {
	return ReaderStats{
		EventsAccepted: r.stats.accepted.Load(), ReplaysDropped: r.stats.dropped.Load(),
		EventsUntracked: r.stats.untracked.Load(), Connects: r.stats.connects.Load(),
		Reconnects: r.stats.reconnects.Load(), Connected: r.stats.connected.Load(),
		Errors: r.rep.errors(),
	}
}
