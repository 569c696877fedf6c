package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/lastevent/lastevent/shard"
	"github.com/lastevent/lastevent/sse"
)

// Config configures a Relay. Zero fields take the defaults named.
type Config struct {
	// Source is the upstream. Its MaxOverlap must not exceed the
	// Tracker's Config.PersistWindow: the Tracker drops the overlap of a
	// reconnect, within one run of the relay and after a restart.
	Source *Source
	// Session is the Tracker session of the upstream stream. Required.
	Session string
	// Tracker deduplicates and checkpoints the upstream's event IDs.
	// Required; the caller creates and closes it.
	Tracker *shard.Tracker
	// Buffer is how many forwarded events the relay keeps in memory for
	// clients that reconnect. Default 1024.
	Buffer int
	// Heartbeat is the interval of comment heartbeats to clients.
	// Default 15s.
	Heartbeat time.Duration
	// ClientRetry is the reconnection time sent to clients. Default 1s.
	ClientRetry time.Duration
	// Logger receives the relay's logs. Default slog.Default().
	Logger *slog.Logger
}

// Relay reads one upstream event stream, drops the events its Tracker has
// already accepted, and serves the rest to any number of downstream
// clients, each from its own Last-Event-ID. See the example's README for
// how its checkpoint and a client's Last-Event-ID combine after a restart.
type Relay struct {
	cfg    Config
	hub    *hub
	start  Position // the stored checkpoint the relay resumed from
	log    *slog.Logger
	events atomic.Uint64 // accepted and forwarded upstream events
	dups   atomic.Uint64 // upstream events dropped as duplicates
}

// New resumes the session's stored checkpoint with Tracker.Resume (which
// must precede the session's first Observe) and returns a Relay positioned
// after it.
func New(ctx context.Context, cfg Config) (*Relay, error) {
	if cfg.Source == nil || cfg.Tracker == nil || cfg.Session == "" {
		return nil, errors.New("sserelay: Config needs Source, Tracker and Session")
	}
	if cfg.Buffer == 0 {
		cfg.Buffer = 1024
	}
	if cfg.Buffer < 1 {
		return nil, fmt.Errorf("sserelay: Config.Buffer %d: must be positive", cfg.Buffer)
	}
	if cfg.Heartbeat == 0 {
		cfg.Heartbeat = 15 * time.Second
	}
	if cfg.ClientRetry == 0 {
		cfg.ClientRetry = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cp, err := cfg.Tracker.Resume(ctx, cfg.Session)
	if err != nil {
		return nil, fmt.Errorf("sserelay: resume %q: %w", cfg.Session, err)
	}
	start := Position{}
	if !cp.IsZero() {
		start = Position{ID: cp.EventID, Set: true}
	}
	cfg.Logger.Info("sserelay: resumed", "session", cfg.Session, "checkpoint_id", cp.EventID, "checkpoint_seq", cp.Seq)
	return &Relay{cfg: cfg, hub: newHub(cfg.Buffer, start), start: start, log: cfg.Logger}, nil
}

// Run reads the upstream until ctx ends, and returns ctx.Err() or the
// Tracker's ErrClosed. The first connection asks for the stored checkpoint;
// every reconnect asks for the Tracker's LastEventID.
func (r *Relay) Run(ctx context.Context) error {
	return r.cfg.Source.Follow(ctx, FollowOptions{
		Start: r.start,
		Position: func() Position {
			id, ok := r.cfg.Tracker.LastEventID(r.cfg.Session)
			return Position{ID: id, Set: ok}
		},
		// No anchoring: the upstream's overlap after a reconnect, and
		// after a restart, is in the Tracker's window, which the stored
		// checkpoint carries across restarts (Config.PersistWindow), so
		// Observe drops it and no event is held back.
		Anchor: AnchorNever,
	}, r.accept)
}

// accept forwards e unless the Tracker has seen its ID.
func (r *Relay) accept(e Event) error {
	if e.ID != nil {
		accepted, err := r.cfg.Tracker.Observe(r.cfg.Session, string(e.ID))
		switch {
		case errors.Is(err, shard.ErrClosed):
			return err
		case err != nil:
			// An ID the Tracker cannot hold (too long, invalid UTF-8) is
			// forwarded without dedup, like an event without an ID.
			r.log.Warn("sserelay: event ID not tracked", "error", err)
		case !accepted:
			r.dups.Add(1)
			return nil
		}
	}
	r.hub.append(e)
	r.events.Add(1)
	return nil
}

// Stats returns how many upstream events were forwarded and how many were
// dropped as duplicates.
func (r *Relay) Stats() (forwarded, duplicates uint64) { return r.events.Load(), r.dups.Load() }

// Handler returns the downstream http.Handler: a text/event-stream of the
// upstream's events after the client's Last-Event-ID (from the start of the
// stream without one), with heartbeats.
func (r *Relay) Handler() http.Handler {
	return &sse.Handler{
		Stream:    r.stream,
		Heartbeat: r.cfg.Heartbeat,
		Retry:     r.cfg.ClientRetry,
		OnError: func(req *http.Request, err error) {
			r.log.Warn("sserelay: client stream ended", "remote", req.RemoteAddr, "error", err)
		},
	}
}

// stream serves one client: from the hub while the hub holds the client's
// position, from a catch-up stream of the upstream while it does not.
func (r *Relay) stream(w *sse.Writer, req *http.Request) error {
	ctx := req.Context()
	var p Position
	if id, ok := sse.LastEventID(req); ok && id != "" {
		p = Position{ID: id, Set: true}
	}
	for {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if pos, ok, _ := r.hub.locate(p); ok {
			if err := r.fromHub(ctx, w, pos, &p); !errors.Is(err, errFellBehind) {
				return err
			}
			r.log.Info("sserelay: client fell behind the buffer, catching up from upstream", "remote", req.RemoteAddr, "last_event_id", p.ID)
			continue
		}
		if err := r.catchUp(ctx, w, &p); err != nil {
			return err
		}
	}
}

var errFellBehind = errors.New("client fell behind the relay's buffer")

// fromHub writes the hub's events from pos on, following appends, until ctx
// ends, a write fails, or the client falls behind the hub (errFellBehind).
func (r *Relay) fromHub(ctx context.Context, w *sse.Writer, pos uint64, p *Position) error {
	batch := make([]Event, 0, 64)
	for {
		events, next, wake, ok := r.hub.read(pos, batch)
		if !ok {
			return errFellBehind
		}
		for _, e := range events {
			if err := w.WriteEvent(e.sse()); err != nil {
				return err
			}
			*p = p.After(e)
		}
		clear(events) // let the hub's evictions free them
		pos = next
		if len(events) == 0 {
			select {
			case <-wake:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
}

// catchUp serves the client from its own upstream stream, opened at its
// position, until the hub holds the client's position (it returns nil and
// the client continues from the hub), ctx ends, or a write fails.
//
// The two streams meet because both are the upstream's one order: once the
// last event the client got is in the hub, the hub's events after it are
// exactly the ones the client lacks.
func (r *Relay) catchUp(ctx context.Context, w *sse.Writer, p *Position) error {
	if _, ok, _ := r.hub.locate(*p); ok {
		return nil
	}
	r.log.Info("sserelay: client position not in buffer, catching up from upstream", "last_event_id", p.ID, "set", p.Set)
	cctx, cancel := context.WithCancel(ctx)
	events := make(chan Event)
	followErr := make(chan error, 1)
	go func() {
		followErr <- r.cfg.Source.Follow(cctx, FollowOptions{Start: *p, Anchor: AnchorEvery, StopOnReject: true},
			func(e Event) error {
				select {
				case events <- e:
					return nil
				case <-cctx.Done():
					return cctx.Err()
				}
			})
	}()
	defer func() {
		cancel()
		<-followErr // the catch-up goroutine is this call's: wait for it
	}()
	for {
		_, ok, wake := r.hub.locate(*p)
		if ok {
			return nil
		}
		select {
		case e := <-events:
			if err := w.WriteEvent(e.sse()); err != nil {
				return err
			}
			*p = p.After(e)
		case <-wake:
		case err := <-followErr:
			followErr <- err // for the deferred wait
			if errors.Is(err, ErrRejected) {
				_ = w.WriteComment(fmt.Sprintf("cannot resume from Last-Event-ID %q: %v", p.ID, err))
			}
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
