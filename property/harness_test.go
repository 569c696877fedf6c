package property

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/lastevent/lastevent/backends/fault"
	"github.com/lastevent/lastevent/core"
	"github.com/lastevent/lastevent/internal/testmodel"
	"github.com/lastevent/lastevent/shard"
)

const (
	// generous bounds calls that must succeed; it only detects hangs.
	generous = 30 * time.Second
	// faultWait bounds a Flush while a fault is injected.
	faultWait = 40 * time.Millisecond
)

// harness is the system under test of one command sequence: a Tracker on
// fault.Backend → recorder → the real backend. Its methods never fail a
// test directly; problems become part of the snapshot that PostCondition
// checks.
type harness struct {
	cfg    shard.Config
	real   core.Backend // read directly to see what is stored
	rec    *recorder
	faults *fault.Backend
	mode   faultMode
	tr     *shard.Tracker
	prefix string // makes session names unique per sequence (shared DynamoDB table)

	storedBefore [poolSize]uint64 // stored Seq at the previous snapshot
	setupErr     error

	// clockOffset moves the tracker's clock (Config.Now) ahead of real
	// time, so that sessions go idle without waiting.
	mu          sync.Mutex
	clockOffset time.Duration
}

// idleTTL is Config.IdleTTL; only the Evict command moves the clock past it.
const idleTTL = time.Hour

func (h *harness) now() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return time.Now().Add(h.clockOffset)
}

func (h *harness) advance(d time.Duration) {
	h.mu.Lock()
	h.clockOffset += d
	h.mu.Unlock()
}

// flakyFaults is the flaky fault mode: every kind of Store failure the
// fault backend has, often.
var flakyFaults = fault.Config{ErrorRate: 0.4, PermanentShare: 0.3, ThrottleRate: 0.1, PartialRate: 0.3, LostReplyRate: 0.3}

func newHarness(real core.Backend, prefix string, seed uint64, c caseConfig) *harness {
	cfg := shard.Config{Window: c.window, Shards: c.shards, Logger: quietLogger(),
		FlushInterval: time.Hour, MaxBatch: 256, StoreTimeout: generous,
		// Retries and the breaker run at test speed: failed writes are
		// retried in the background within milliseconds, and the breaker
		// opens after three failed calls and probes 2ms later.
		RetryBaseDelay: time.Millisecond, RetryMaxDelay: 4 * time.Millisecond,
		BreakerThreshold: 3, BreakerResetTimeout: 2 * time.Millisecond,
		IdleTTL: idleTTL, PersistWindow: c.persist}
	if c.persist == 0 {
		cfg.PersistWindow = shard.PersistWindowOff
	}
	if c.async {
		cfg.FlushInterval, cfg.MaxBatch = time.Millisecond, 1
	}
	h := &harness{cfg: cfg, real: real, rec: newRecorder(real), prefix: prefix}
	h.cfg.Now = h.now
	h.faults = fault.New(h.rec, fault.Config{Seed: seed})
	h.tr, h.setupErr = shard.New(h.faults, h.cfg)
	return h
}

// setFault replaces the injected fault.
func (h *harness) setFault(mode faultMode) {
	h.mode = mode
	var err error
	switch mode {
	case outage:
		err = h.faults.Set(fault.Config{})
		h.faults.StartOutage(0) // until the next Set
	case flaky:
		err = h.faults.Set(flakyFaults)
	case loadDown:
		err = h.faults.Set(fault.Config{LoadErrorRate: 1})
	default:
		err = h.faults.Set(fault.Config{})
	}
	if err != nil && h.setupErr == nil {
		h.setupErr = fmt.Errorf("fault.Set(%v): %w", mode, err)
	}
}

func (h *harness) name(i int) string { return h.prefix + "s" + strconv.Itoa(i) }

func (h *harness) names() []string {
	out := make([]string, poolSize)
	for i := range out {
		out[i] = h.name(i)
	}
	return out
}

// destroy heals the backend and closes the tracker, so that no flusher
// outlives its sequence whatever happened.
func (h *harness) destroy() {
	h.setFault(healthy)
	if h.tr != nil {
		ctx, cancel := context.WithTimeout(context.Background(), generous)
		defer cancel()
		_ = h.tr.Close(ctx)
	}
}

// restart heals the backend, closes the tracker (which must store
// everything), starts a new one on the same backend and resumes the
// sessions in order; the others stay out of memory until used.
func (h *harness) restart(order []int) (resumed []core.Checkpoint, err error) {
	h.setFault(healthy)
	ctx, cancel := context.WithTimeout(context.Background(), generous)
	defer cancel()
	if err := h.tr.Close(ctx); err != nil {
		return nil, fmt.Errorf("Close before restart: %w", err)
	}
	if err := h.tr.Delete(ctx, h.name(0)); !errors.Is(err, shard.ErrClosed) {
		return nil, fmt.Errorf("Delete after Close: got %v, want ErrClosed", err)
	}
	tr, err := shard.New(h.faults, h.cfg)
	if err != nil {
		h.tr = nil
		return nil, fmt.Errorf("New after restart: %w", err)
	}
	h.tr = tr
	resumed = make([]core.Checkpoint, poolSize)
	for _, i := range order {
		cp, err := h.resume(ctx, i)
		if err != nil {
			return nil, fmt.Errorf("Resume(%s) after restart: %w", h.name(i), err)
		}
		resumed[i] = cp
	}
	return resumed, nil
}

// resume calls Resume, again while the shard's circuit breaker refuses the
// Load and the backend is not failing Loads (testmodel.Resume).
func (h *harness) resume(ctx context.Context, i int) (core.Checkpoint, error) {
	return testmodel.Resume(ctx, h.tr, h.name(i), h.cfg.BreakerResetTimeout, h.mode != outage && h.mode != loadDown)
}

// evictIdle heals the backend and lets every session go idle: three
// flushes, the clock moved past IdleTTL before the last two. The first
// stores everything; a sweep then evicts each clean idle session, except one
// seen since the previous sweep (a duplicate), which the next sweep evicts.
func (h *harness) evictIdle() error {
	h.setFault(healthy)
	for round := range 3 {
		if round > 0 {
			h.advance(2 * idleTTL)
		}
		if err := h.flush(); err != nil {
			return fmt.Errorf("Flush %d of eviction: %w", round+1, err)
		}
	}
	return nil
}

// flush calls Flush, with a short deadline while a fault is injected.
func (h *harness) flush() error {
	wait := generous
	if h.mode != healthy {
		wait = faultWait
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	return h.tr.Flush(ctx)
}

// outcome is one command's result plus a snapshot of everything observable
// afterwards.
type outcome struct {
	accepted bool
	err      error
	resumed  []core.Checkpoint // Resume's answer, per pool index

	checkpoints [poolSize]core.Checkpoint
	hasCP       [poolSize]bool
	lastIDs     [poolSize]string
	hasLastID   [poolSize]bool
	stored      [poolSize]core.Checkpoint
	storedDrop  []string // sessions whose stored Seq decreased since the last snapshot
	sessions    int
	names       [poolSize]string
	written     []modelCheckpoint // checkpoints the backend wrote since the last snapshot
	// earlier is, for Delete, the checkpoints the backend wrote after the
	// last snapshot and by the time Delete returned.
	earlier    []modelCheckpoint
	retryErr   error // Delete's second call, after healing the backend
	violations []string
}

// snapshot completes o with the tracker's and the backend's state.
func (h *harness) snapshot(o *outcome) *outcome {
	if h.setupErr != nil && o.err == nil {
		o.err = h.setupErr
	}
	if h.tr != nil {
		for i, n := range h.names() {
			o.checkpoints[i], o.hasCP[i] = h.tr.Checkpoint(n)
			o.lastIDs[i], o.hasLastID[i] = h.tr.LastEventID(n)
		}
		o.sessions = h.tr.Sessions()
	}
	ctx, cancel := context.WithTimeout(context.Background(), generous)
	defer cancel()
	stored, err := h.real.Load(ctx, h.names())
	if err != nil {
		o.violations = append(o.violations, fmt.Sprintf("reading the backend: %v", err))
	}
	for i, n := range h.names() {
		o.stored[i] = stored[n]
		if o.stored[i].Seq < h.storedBefore[i] {
			o.storedDrop = append(o.storedDrop, fmt.Sprintf("stored seq of s%d decreased from %d to %d", i, h.storedBefore[i], o.stored[i].Seq))
		}
		h.storedBefore[i] = max(h.storedBefore[i], o.stored[i].Seq)
	}
	o.written = h.takeWritten(o)
	copy(o.names[:], h.names())
	return o
}

// takeWritten returns the checkpoints the backend wrote since the previous
// call, adding the recorder's violations to o.
func (h *harness) takeWritten(o *outcome) []modelCheckpoint {
	written, violations := h.rec.take()
	o.violations = append(o.violations, violations...)
	var out []modelCheckpoint
	for _, cp := range written {
		i, ok := h.index(cp.Session)
		if !ok {
			o.violations = append(o.violations, fmt.Sprintf("backend wrote unknown session %q", cp.Session))
			continue
		}
		out = append(out, modelCheckpoint{session: i, eventID: cp.EventID, seq: cp.Seq})
	}
	return out
}

// index maps a session name of this harness back to its pool index.
func (h *harness) index(session string) (int, bool) {
	if len(session) <= len(h.prefix)+1 || session[:len(h.prefix)] != h.prefix {
		return 0, false
	}
	i, err := strconv.Atoi(session[len(h.prefix)+1:])
	return i, err == nil && i >= 0 && i < poolSize
}
