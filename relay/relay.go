package relay

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/VictoriaMetrics/metrics"
	"github.com/puzpuzpuz/xsync/v3"
)

// Relay is an SSE gateway for one upstream session: a Reader that passes
// the upstream's events through a Tracker, a bounded replay buffer of the
// accepted ones, and an http.Handler that serves them to any number of
// clients, each from its own Last-Event-ID (header or query parameter),
// with heartbeats, CORS, and a bounded policy for slow clients.
//
// Goroutines: New starts exactly one, the upstream reader, which Close
// stops. Each client is served on the goroutine net/http runs ServeHTTP
// on, with no goroutine of its own for heartbeats; a client whose position
// is not in the buffer also owns one catch-up goroutine (reading the
// upstream for it) and, on each catch-up connection, one decoder
// goroutine, both ended before ServeHTTP returns. Nothing is started per
// event.
//
// A Relay is safe for concurrent use. It must be created with New and
// released with Close; it must not be copied. The Tracker is the caller's:
// close it after the Relay.
type Relay struct {
	cfg      Config
	start    Position // the stored checkpoint the relay resumed from
	reader   *Reader
	buf      *buffer
	rep      *reporter
	cors     cors
	catchUp  *source       // the catch-up streams' upstream, filing KindCatchUp
	slots    chan struct{} // catch-up streams running, at most MaxCatchUps
	counters relayCounters
	metrics  *metrics.Set

	cancel context.CancelFunc // ends the reader
	done   chan struct{}      // closed when the reader's goroutine returned
	runErr error              // the reader's own error, set before done is closed
	stop   chan struct{}      // closed by Close: every client stream ends

	mu        sync.Mutex
	closed    bool
	active    int           // client streams being served
	drained   chan struct{} // closed once closed and active is 0
	closeOnce sync.Once
}

// relayCounters are the Relay's own numbers; a Stats snapshot and the
// metrics read them.
type relayCounters struct {
	relayed        atomic.Uint64  // written by the reader goroutine only
	sent           *xsync.Counter // every client adds per batch written: striped
	clients        atomic.Int64
	catchUpsActive atomic.Int64
	catchUps       atomic.Uint64
	fellBehind     atomic.Uint64
	slow           atomic.Uint64
	corsDenied     atomic.Uint64
}

// New resumes cfg.Session with Tracker.Resume — so that its Seq,
// Last-Event-ID and stored window continue where the last run left off —
// and returns a Relay whose buffer starts after that checkpoint, with its
// upstream reader running. An invalid cfg yields an error naming the
// field; a failed Resume is returned wrapped. ctx bounds only the Resume.
func New(ctx context.Context, cfg Config) (*Relay, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cp, err := cfg.Tracker.Resume(ctx, cfg.Session)
	if err != nil {
		return nil, fmt.Errorf("relay: resume session %q: %w", cfg.Session, err)
	}
	var start Position
	if !cp.IsZero() {
		start = At(cp.EventID)
	}
	rep := newReporter(cfg.OnError, cfg.Logger)
	r := &Relay{
		cfg:     cfg,
		start:   start,
		reader:  newReader(cfg.reader(), rep),
		buf:     newBuffer(cfg.Buffer, start),
		rep:     rep,
		cors:    newCORS(&cfg),
		slots:   make(chan struct{}, cfg.MaxCatchUps),
		done:    make(chan struct{}),
		stop:    make(chan struct{}),
		drained: make(chan struct{}),
	}
	fc := cfg.follow()
	r.catchUp = &source{url: fc.URL, client: fc.Client, header: fc.Header, minB: fc.MinBackoff, maxB: fc.MaxBackoff,
		session: cfg.Session, rep: rep, kind: KindCatchUp, kindSet: true, describe: "catch-up"}
	r.counters.sent = xsync.NewCounter()
	r.metrics = newRelayMetrics(r)
	cfg.Logger.Info("relay: resumed", "session", cfg.Session, "checkpoint_id", cp.EventID, "checkpoint_seq", cp.Seq)

	runCtx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go r.run(runCtx)
	return r, nil
}

// run is the upstream reader's goroutine.
func (r *Relay) run(ctx context.Context) {
	defer close(r.done)
	err := r.reader.Run(ctx, r.accept)
	if ctx.Err() == nil { // it stopped by itself: the Tracker closed, or a permanent failure
		r.runErr = err
		r.cfg.Logger.Error("relay: upstream reader stopped; clients are served what the buffer holds", "session", r.cfg.Session, "error", err)
	}
}

// accept puts an event the reader handed on into the buffer.
func (r *Relay) accept(e Event) error {
	r.buf.append(e)
	r.counters.relayed.Add(1)
	return nil
}

// Done returns a channel closed when the upstream reader has stopped:
// after Close, or on its own when the Tracker was closed under it or
// Resume failed permanently (then Err says why).
func (r *Relay) Done() <-chan struct{} { return r.done }

// Err returns why the upstream reader stopped on its own, or nil while it
// runs and after a Close stopped it.
func (r *Relay) Err() error {
	select {
	case <-r.done:
		return r.runErr
	default:
		return nil
	}
}

// Close stops the upstream reader, ends every client stream (ServeHTTP
// answers 503 from then on) and waits for the reader and for every
// ServeHTTP call in progress, with the goroutines they own, to return; a
// client blocked on a write returns within Config.WriteTimeout. If ctx
// ends first, Close returns an error wrapping ctx.Err() that says what
// still runs. Otherwise it returns the reader's own error if it had
// stopped by itself (see Err), else nil. Close is idempotent: later calls
// wait again. It does not close the Tracker.
func (r *Relay) Close(ctx context.Context) error {
	r.closeOnce.Do(func() {
		r.mu.Lock()
		r.closed = true
		if r.active == 0 {
			close(r.drained)
		}
		r.mu.Unlock()
		close(r.stop)
		r.cancel()
	})
	select {
	case <-r.done:
	case <-ctx.Done():
		return fmt.Errorf("relay: close: the upstream reader is still running: %w", ctx.Err())
	}
	select {
	case <-r.drained:
	case <-ctx.Done():
		r.mu.Lock()
		n := r.active
		r.mu.Unlock()
		return fmt.Errorf("relay: close: %d client streams still running: %w", n, ctx.Err())
	}
	return r.runErr
}

// enter counts a client stream in, unless the Relay is closed.
func (r *Relay) enter() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false
	}
	r.active++
	return true
}

// leave counts a client stream out.
func (r *Relay) leave() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.active--
	if r.closed && r.active == 0 {
		close(r.drained)
	}
}

// Metrics returns the Relay's own metrics set, named with
// Config.MetricsPrefix and Config.MetricsLabels (see Stats for what each
// number means). The Relay never registers it globally; expose it with
// metrics.RegisterSet or set.WritePrometheus. Its numbers are read from
// the counters when the set is written.
func (r *Relay) Metrics() *metrics.Set { return r.metrics }

// Stats are a Relay's numbers.
type Stats struct {
	// Clients is the number of client streams being served, CatchUps of
	// those served from a catch-up stream right now. Buffered is the
	// number of events in the replay buffer.
	Clients, CatchUps int64
	Buffered          int
	// EventsRelayed counts upstream events put into the buffer: accepted
	// by the Tracker, or untracked (no ID, or one it refused).
	EventsRelayed uint64
	// EventsSent counts events written to clients, all clients together.
	EventsSent uint64
	// Reader is the upstream reader's: accepted, replays dropped (the
	// upstream's overlaps), untracked, connects, reconnects, and the
	// errors of the whole Relay by kind (catch-up and client ones too).
	Reader ReaderStats
	// CatchUpsStarted counts catch-up streams; FellBehind the clients that
	// fell behind the buffer and were caught up from the upstream.
	CatchUpsStarted, FellBehind uint64
	// SlowClientDisconnects counts clients disconnected because a write
	// to them blocked for Config.WriteTimeout.
	SlowClientDisconnects uint64
	// CORSDenied counts requests refused for their Origin.
	CORSDenied uint64
}

// Stats returns the Relay's numbers. Each is read atomically; together
// they are not one snapshot.
func (r *Relay) Stats() Stats {
	return Stats{
		Clients: r.counters.clients.Load(), CatchUps: r.counters.catchUpsActive.Load(), Buffered: r.buf.len(),
		EventsRelayed: r.counters.relayed.Load(), EventsSent: uint64(r.counters.sent.Value()),
		Reader:          r.reader.Stats(),
		CatchUpsStarted: r.counters.catchUps.Load(), FellBehind: r.counters.fellBehind.Load(),
		SlowClientDisconnects: r.counters.slow.Load(), CORSDenied: r.counters.corsDenied.Load(),
	}
}
