package fault

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lastevent/lastevent/core"
	"github.com/lastevent/lastevent/internal/backoff"
)

// Backend is a core.Backend that forwards to another one and injects the
// faults its Config asks for. Every result it reports follows the
// core.Backend contract: each Store result is filled, each failure wraps
// core.ErrRetryable or core.ErrPermanent and names the session and seq, and
// an ended ctx yields retryable failures wrapping ctx.Err().
//
// It is safe for concurrent use. Faults are drawn from one seeded source
// under a mutex, one lock per call; a given sequence of calls therefore
// meets the same faults, while concurrent callers meet them in the order
// they take the lock. It starts no goroutines and needs no Close; it must
// not be copied after first use.
type Backend struct {
	next core.Backend
	now  func() time.Time

	rngMu sync.Mutex // guards rng
	rng   *rand.Rand

	setMu sync.Mutex // serialises writers of state
	state atomic.Pointer[state]

	c       counters
	scratch sync.Pool // *scratch, for Store calls that split their batch
}

// state is what Set, StartOutage and EndOutage replace as a whole, so a
// call sees one consistent Config and outage.
type state struct {
	cfg    Config
	outage window
	// quiet: no Store fault is configured, so Store need not take the
	// random source's lock.
	quiet bool
}

// rngStream is the PCG stream paired with Config.Seed. Any constant will
// do; a fixed one keeps the sequence a function of Seed alone.
const rngStream = 0x6c617374_6576656e // "lasteven" in ASCII

// New wraps next with the faults of cfg. It panics if cfg.Validate fails: a
// fault Config is written by a test's author, like a regexp literal; check
// Validate first when it comes from user input.
func New(next core.Backend, cfg Config) *Backend {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	b := &Backend{next: next, now: cfg.Now, rng: rand.New(rand.NewPCG(cfg.Seed, rngStream))}
	if b.now == nil {
		b.now = time.Now
	}
	b.state.Store(newState(cfg, b.now()))
	return b
}

func newState(cfg Config, now time.Time) *state {
	quiet := cfg.ErrorRate == 0 && cfg.ThrottleRate == 0 && cfg.PartialRate == 0 &&
		cfg.LostReplyRate == 0 && cfg.Latency == 0 && cfg.Jitter == 0
	return &state{cfg: cfg, outage: scheduled(&cfg, now), quiet: quiet}
}

// Set replaces every fault with those of cfg, an outage in progress
// included: Set(fault.Config{}) lets the next backend recover at once. A
// scheduled outage in cfg is timed from now. cfg.Seed and cfg.Now are
// ignored: the random sequence continues and the clock stays the one given
// to New. An invalid cfg is reported and changes nothing. Calls in flight
// finish with the faults they started with.
func (b *Backend) Set(cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	b.update(func(s *state) {
		ns := newState(cfg, b.now())
		*s = *ns
	})
	return nil
}

// Config returns the faults in force. Seed and Now are those given to New.
func (b *Backend) Config() Config {
	b.setMu.Lock()
	defer b.setMu.Unlock()
	return b.state.Load().cfg
}

// update publishes a modified copy of the state.
func (b *Backend) update(f func(*state)) {
	b.setMu.Lock()
	defer b.setMu.Unlock()
	old := b.state.Load()
	ns := *old
	f(&ns)
	ns.cfg.Seed, ns.cfg.Now = old.cfg.Seed, old.cfg.Now
	b.state.Store(&ns)
}

// Load fails when ctx has ended, during an outage and at LoadErrorRate,
// after waiting LoadLatency plus jitter; otherwise it returns the next
// backend's answer unchanged.
func (b *Backend) Load(ctx context.Context, sessions []string) (map[string]core.Checkpoint, error) {
	b.c.loadCalls.Add(1)
	st := b.state.Load()
	err := b.admit(ctx, st, st.cfg.LoadLatency, st.cfg.LoadJitter, st.cfg.LoadErrorRate, &b.c.loadFailures,
		func() string { return fmt.Sprintf("load of %d sessions", len(sessions)) })
	if err != nil {
		return nil, err
	}
	return b.next.Load(ctx, sessions)
}

// Delete fails when ctx has ended, during an outage and at DeleteErrorRate;
// otherwise it passes the call on. It adds no latency.
func (b *Backend) Delete(ctx context.Context, session string) error {
	b.c.deleteCalls.Add(1)
	st := b.state.Load()
	err := b.admit(ctx, st, 0, 0, st.cfg.DeleteErrorRate, &b.c.deleteFails,
		func() string { return fmt.Sprintf("delete of session %q", session) })
	if err != nil {
		return err
	}
	return b.next.Delete(ctx, session)
}

// admit applies the faults of a Load or Delete call: an ended ctx, an
// outage, latency and an error rate. It returns the error to report, or nil
// to pass the call on. what names the call in an error; it runs only on
// failure.
func (b *Backend) admit(ctx context.Context, st *state, latency, jitter time.Duration, rate float64,
	failures *atomic.Uint64, what func() string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w: fault: %s: %w", core.ErrRetryable, what(), err)
	}
	if b.inOutage(st) {
		b.c.outageCalls.Add(1)
		return fmt.Errorf("%w: %w: %s", core.ErrRetryable, ErrOutage, what())
	}
	delay, class := b.drawCall(latency, jitter, rate, st.cfg.PermanentShare)
	if err := backoff.Wait(ctx, delay, nil); err != nil {
		return fmt.Errorf("%w: fault: %s: %w", core.ErrRetryable, what(), err)
	}
	if class != nil {
		failures.Add(1)
		return fmt.Errorf("%w: %w: %s", class, ErrInjected, what())
	}
	return nil
}

var _ core.Backend = (*Backend)(nil)
