package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/lastevent/lastevent/shard"
)

const (
	// maxLag bounds how late a worker may send an event. Events due longer
	// ago than this are skipped and counted as dropped, so a machine that
	// cannot keep up runs at its own pace instead of building a backlog that
	// would burst forever.
	maxLag = 50 * time.Millisecond
	// emitChunk is how many events a worker sends between clock reads.
	emitChunk = 1024
	// minTick and maxTick bound a worker's pacing tick: short enough that
	// events leave close to their due time, long enough that a slow worker
	// does not wake for nothing.
	minTick = time.Millisecond
	maxTick = 10 * time.Millisecond
)

// observer is the part of shard.Tracker the generator drives. Tests
// substitute a faulty one to show that the correctness checks can fail.
type observer interface {
	Observe(session, eventID string) (accepted bool, err error)
}

// session is one generated session, owned by a single worker.
//
// Event IDs are the decimal numbers 1, 2, 3, ... in the order they are first
// sent. A duplicate resends one of the last Window new IDs, all of which the
// tracker accepted, so it is still in the dedup window and must be refused.
type session struct {
	name         string
	issued       uint64 // newest new ID sent; 0 = none yet
	lastAccepted uint64 // newest ID the tracker accepted; 0 = none
	accepted     uint64 // events the tracker accepted: the Seq its checkpoint must reach
}

// sessionPrefix starts every generated session name; the rest is the
// session's index, so checks can find a session's state without a map.
const sessionPrefix = "session-"

func sessionName(i int) string { return sessionPrefix + strconv.Itoa(i) }

// sessionIndex returns i for sessionName(i), and false for any other name.
// It does not allocate: the checking backend calls it for every write.
func sessionIndex(name string) (int, bool) {
	digits, ok := strings.CutPrefix(name, sessionPrefix)
	if !ok || digits == "" || len(digits) > 9 || (digits[0] == '0' && len(digits) > 1) {
		return 0, false
	}
	i := 0
	for _, c := range []byte(digits) {
		if c < '0' || c > '9' {
			return 0, false
		}
		i = 10*i + int(c-'0')
	}
	return i, true
}

// counts are a worker's event totals.
type counts struct {
	observed      uint64 // Observe calls made
	accepted      uint64 // Observe reported accepted=true
	deduplicated  uint64 // Observe reported accepted=false
	dropped       uint64 // due but skipped because the worker was more than maxLag behind
	dedupErrors   uint64 // a new ID refused, or a duplicate accepted
	observeErrors uint64 // Observe returned an error
	tooMany       uint64 // Observe refused a new session: shard.ErrTooManySessions (backpressure, not an error)
	reaccepted    uint64 // replays accepted again by a session evicted since (by design, with eviction on)
}

func (c *counts) add(o counts) {
	c.observed += o.observed
	c.accepted += o.accepted
	c.deduplicated += o.deduplicated
	c.dropped += o.dropped
	c.dedupErrors += o.dedupErrors
	c.observeErrors += o.observeErrors
	c.tooMany += o.tooMany
	c.reaccepted += o.reaccepted
}

// liveCounts is what a worker publishes after each chunk of events, for
// the progress line.
type liveCounts struct {
	observed, accepted, deduplicated, dropped atomic.Uint64
}

// worker emits the events of a disjoint subset of sessions on an open-loop
// schedule (schedule.go): by elapsed time t it has emitted (or dropped) the
// events due by t, steadily round-robin over its sessions or in each
// session's bursts. Everything but live is owned by the worker's goroutine
// until run returns.
type worker struct {
	sessions   []session
	obs        observer
	sched      schedule
	tick       time.Duration
	window     uint64
	dupRatio   float64
	sampleMask uint64 // Observe calls are timed when observed&sampleMask == 0
	rng        *rand.Rand

	scheduled uint64 // events due so far, emitted or dropped: the next to emit is sched's event number scheduled
	buf       []byte // formats event IDs
	counts    counts
	hist      histogram
	failure   string // the first correctness failure, for the report
	live      liveCounts
	evicting  bool // sessions may be evicted: replays may be accepted again
}

func newWorker(sessions []session, obs observer, cfg config, sampleMask uint64, id int) *worker {
	rng := rand.New(rand.NewPCG(cfg.Seed, uint64(id)))
	sched := newSchedule(len(sessions), cfg, rng)
	tick := time.Duration(float64(time.Second) / sched.rate)
	return &worker{
		sessions:   sessions,
		obs:        obs,
		sched:      sched,
		tick:       min(max(tick, minTick), maxTick),
		window:     uint64(cfg.Window),
		dupRatio:   cfg.DupRatio,
		sampleMask: sampleMask,
		rng:        rng,
		buf:        make([]byte, 0, 20), // the longest uint64
		evicting:   cfg.Tracker.evicting(),
	}
}

// run waits for the gate, then at each tick emits the events due so far,
// until duration has elapsed or ctx ends.
func (w *worker) run(ctx context.Context, g *gate, duration time.Duration) {
	defer w.publish()
	select {
	case <-g.open:
	case <-ctx.Done():
		return
	}
	t := time.NewTicker(w.tick)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
		if w.catchUp(ctx, g.start, duration) {
			return
		}
	}
}

// catchUp emits the events due by now, in chunks of emitChunk between which
// it reads the clock again. Events due more than maxLag ago are skipped and
// counted as dropped, so the worker never holds more than maxLag of backlog
// and stops at most about maxLag after duration (unless an Observe blocks;
// drive's deadline bounds that). It reports whether the run
// is over: duration reached and every event due by then sent or dropped, or
// ctx ended.
func (w *worker) catchUp(ctx context.Context, start time.Time, duration time.Duration) bool {
	for {
		now := time.Since(start)
		due := w.sched.dueBy(min(now, duration))
		if stale := min(w.sched.dueBy(now-maxLag), due); stale > w.scheduled {
			w.counts.dropped += stale - w.scheduled
			w.scheduled = stale
		}
		for n := min(due-w.scheduled, emitChunk); n > 0; n-- {
			w.emit()
		}
		w.publish()
		switch {
		case ctx.Err() != nil:
			return true
		case w.scheduled == due:
			return now >= duration
		}
	}
}

// emit sends the next scheduled event and checks the tracker's answer. It
// allocates only the event ID string, which the tracker retains when it
// accepts the event.
func (w *worker) emit() {
	s := &w.sessions[w.sched.session(w.scheduled)]
	w.scheduled++
	id, dup := w.nextID(s)
	w.buf = strconv.AppendUint(w.buf[:0], id, 10)
	eventID := string(w.buf)

	timed := w.counts.observed&w.sampleMask == 0
	var began time.Time
	if timed {
		began = time.Now()
	}
	accepted, err := w.obs.Observe(s.name, eventID)
	if timed {
		w.hist.record(time.Since(began))
	}

	w.counts.observed++
	switch {
	case errors.Is(err, shard.ErrTooManySessions):
		w.counts.tooMany++
	case err != nil:
		w.counts.observeErrors++
		w.fail("session %s event %s: Observe: %v", s.name, eventID, err)
	case accepted:
		w.counts.accepted++
		s.accepted++
		s.lastAccepted = id
		switch {
		case dup && w.evicting:
			w.counts.reaccepted++ // its session may have been evicted: the window went with it
		case dup:
			w.counts.dedupErrors++
			w.fail("session %s event %s: replayed duplicate was accepted", s.name, eventID)
		}
	default:
		w.counts.deduplicated++
		if !dup {
			w.counts.dedupErrors++
			w.fail("session %s event %s: new event was reported a duplicate", s.name, eventID)
		}
	}
}

// nextID returns the ID of a session's next event and whether it is a
// replayed duplicate: with probability dupRatio, once the session has sent
// something, one of its last window new IDs; otherwise a new ID.
func (w *worker) nextID(s *session) (id uint64, dup bool) {
	if s.issued > 0 && w.dupRatio > 0 && w.rng.Float64() < w.dupRatio {
		return s.issued - w.rng.Uint64N(min(w.window, s.issued)), true
	}
	s.issued++
	return s.issued, false
}

func (w *worker) fail(format string, args ...any) {
	if w.failure == "" {
		w.failure = fmt.Sprintf(format, args...)
	}
}

func (w *worker) publish() {
	w.live.observed.Store(w.counts.observed)
	w.live.accepted.Store(w.counts.accepted)
	w.live.deduplicated.Store(w.counts.deduplicated)
	w.live.dropped.Store(w.counts.dropped)
}

// gate starts every worker at once: start is written before open is closed,
// so a worker that has received from open reads it safely.
type gate struct {
	open  chan struct{}
	start time.Time
}

func newGate() *gate { return &gate{open: make(chan struct{})} }

// release records the start of the run and lets the workers go.
func (g *gate) release() time.Time {
	g.start = time.Now()
	close(g.open)
	return g.start
}
