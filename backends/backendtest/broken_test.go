package backendtest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/lastevent/lastevent/backends/memory"
	"github.com/lastevent/lastevent/core"
)

// Backends that each break one rule of the contract. Each embeds the
// memory backend and overrides the one method it breaks.

// lastWriterWins writes every valid checkpoint, whatever is stored.
type lastWriterWins struct{ *memory.Backend }

func (b lastWriterWins) Store(ctx context.Context, batch []core.Checkpoint, results []core.Result) {
	for i, c := range batch {
		if c.Session != "" && c.Seq != 0 && c.CheckWindow() == nil && ctx.Err() == nil {
			_ = b.Backend.Delete(ctx, c.Session)
		}
		b.Backend.Store(ctx, batch[i:i+1], results[i:i+1])
	}
}

// unfilled reports only the written items and leaves every other slot.
type unfilled struct{ *memory.Backend }

func (b unfilled) Store(ctx context.Context, batch []core.Checkpoint, results []core.Result) {
	scratch := make([]core.Result, len(batch))
	b.Backend.Store(ctx, batch, scratch)
	for i, r := range scratch {
		if r.Outcome == core.OutcomeWritten {
			results[i] = r
		}
	}
}

// ctxIgnorer writes even when the caller's context has ended.
type ctxIgnorer struct{ *memory.Backend }

func (b ctxIgnorer) Store(ctx context.Context, batch []core.Checkpoint, results []core.Result) {
	b.Backend.Store(context.WithoutCancel(ctx), batch, results)
}

// namelessCtxErrors fails an ended context's items with an error that
// names neither the session nor the seq.
type namelessCtxErrors struct{ *memory.Backend }

func (b namelessCtxErrors) Store(ctx context.Context, batch []core.Checkpoint, results []core.Result) {
	if err := ctx.Err(); err != nil {
		for i := range results {
			results[i] = core.Result{Outcome: core.OutcomeFailed, Err: fmt.Errorf("%w: %w", core.ErrRetryable, err)}
		}
		return
	}
	b.Backend.Store(ctx, batch, results)
}

// retriesInvalid classifies an invalid checkpoint as retryable.
type retriesInvalid struct{ *memory.Backend }

func (b retriesInvalid) Store(ctx context.Context, batch []core.Checkpoint, results []core.Result) {
	b.Backend.Store(ctx, batch, results)
	for i, r := range results {
		if errors.Is(r.Err, core.ErrPermanent) {
			results[i].Err = fmt.Errorf("%w: session %q seq %d: invalid", core.ErrRetryable, batch[i].Session, batch[i].Seq)
		}
	}
}

// zeroForAbsent returns a zero checkpoint for every session it lacks.
type zeroForAbsent struct{ *memory.Backend }

func (b zeroForAbsent) Load(ctx context.Context, sessions []string) (map[string]core.Checkpoint, error) {
	got, err := b.Backend.Load(ctx, sessions)
	for _, s := range sessions {
		if _, ok := got[s]; !ok && err == nil {
			got[s] = core.Checkpoint{Session: s}
		}
	}
	return got, err
}

// deleteNoop reports success and deletes nothing.
type deleteNoop struct{ *memory.Backend }

func (deleteNoop) Delete(context.Context, string) error { return nil }

// truncator cuts event IDs to 255 bytes, as a VARCHAR(255) column would.
type truncator struct{ *memory.Backend }

func (b truncator) Store(ctx context.Context, batch []core.Checkpoint, results []core.Result) {
	cut := append([]core.Checkpoint(nil), batch...)
	for i := range cut {
		cut[i].EventID = cut[i].EventID[:min(len(cut[i].EventID), 255)]
	}
	b.Backend.Store(ctx, cut, results)
}

// retainer reports success at once and writes the batch, which it keeps,
// on the next Load: what it writes is whatever the caller left in the
// slice.
type retainer struct {
	*memory.Backend
	mu      *sync.Mutex
	pending *[]core.Checkpoint
}

func (b retainer) Store(ctx context.Context, batch []core.Checkpoint, results []core.Result) {
	for i, c := range batch {
		results[i] = core.Result{Outcome: core.OutcomeWritten}
		if c.Session == "" || c.Seq == 0 {
			results[i] = core.Result{Outcome: core.OutcomeFailed, Err: fmt.Errorf("%w: invalid %q", core.ErrPermanent, c.Session)}
		}
	}
	b.mu.Lock()
	*b.pending = batch
	b.mu.Unlock()
}

func (b retainer) Load(ctx context.Context, sessions []string) (map[string]core.Checkpoint, error) {
	b.mu.Lock()
	batch := *b.pending
	*b.pending = nil
	b.mu.Unlock()
	b.Backend.Store(ctx, batch, make([]core.Result, len(batch)))
	return b.Backend.Load(ctx, sessions)
}

// windowFlaw is the one rule of the contract about windows a splitWindow
// breaks.
type windowFlaw uint8

const (
	keepsContract         windowFlaw = iota
	dropsWindow                      // stores no window
	writesStaleWindow                // a stale checkpoint's window replaces the stored one
	keepsOldWindow                   // a checkpoint without a window leaves the old one
	acceptsInvalidWindow             // writes a window that fails CheckWindow
	loadsBadWindow                   // Load returns a stored bad window as it is
	loadDropsBadWindow               // Load returns a bad window's checkpoint without it
	loadPanicsOnBadWindow            // Load panics on a stored bad window
)

// splitWindow keeps EventID and Seq in a memory backend and each window in
// a map of its own, as a backend holding the window in a second key or
// column would, and breaks the rule flaw names. Every call holds mu, so
// the two change together. corrupt stores a checkpoint around the checks,
// for Harness.Corrupt.
type splitWindow struct {
	m       *memory.Backend
	flaw    windowFlaw
	mu      sync.Mutex
	windows map[string]core.Window
}

func newSplitWindow(flaw windowFlaw) *splitWindow {
	return &splitWindow{m: memory.New(), flaw: flaw, windows: map[string]core.Window{}}
}

func (b *splitWindow) Store(ctx context.Context, batch []core.Checkpoint, results []core.Result) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, c := range batch {
		if err := c.CheckWindow(); err != nil && b.flaw != acceptsInvalidWindow {
			results[i] = core.Result{Outcome: core.OutcomeFailed,
				Err: fmt.Errorf("%w: split: session %q seq %d: %w", core.ErrPermanent, c.Session, c.Seq, err)}
			continue
		}
		bare := c
		bare.Window = ""
		b.m.Store(ctx, []core.Checkpoint{bare}, results[i:i+1])
		o := results[i].Outcome
		switch {
		case b.flaw == dropsWindow:
		case o != core.OutcomeWritten && !(o == core.OutcomeStale && b.flaw == writesStaleWindow):
		case c.Window != "":
			b.windows[c.Session] = c.Window
		case b.flaw != keepsOldWindow:
			delete(b.windows, c.Session)
		}
	}
}

func (b *splitWindow) Load(ctx context.Context, sessions []string) (map[string]core.Checkpoint, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	got, err := b.m.Load(ctx, sessions)
	if err != nil {
		return nil, err
	}
	for s, c := range got {
		c.Window = b.windows[s]
		if err := c.CheckWindow(); err != nil {
			switch b.flaw {
			case loadsBadWindow:
			case loadDropsBadWindow:
				c.Window = ""
			case loadPanicsOnBadWindow:
				panic(fmt.Sprintf("split: session %q: %v", s, err))
			default:
				return nil, fmt.Errorf("%w: split: load: %w", core.ErrPermanent, err)
			}
		}
		got[s] = c
	}
	return got, nil
}

func (b *splitWindow) Delete(ctx context.Context, session string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.m.Delete(ctx, session); err != nil {
		return err
	}
	delete(b.windows, session)
	return nil
}

// corrupt stores c as it is, whatever was stored for its session.
func (b *splitWindow) corrupt(c core.Checkpoint) {
	b.mu.Lock()
	defer b.mu.Unlock()
	ctx := context.Background()
	_ = b.m.Delete(ctx, c.Session)
	bare := c
	bare.Window = ""
	if r := store(ctx, b.m, bare)[0]; r.Outcome != core.OutcomeWritten {
		panic(fmt.Sprintf("split: corrupt %q: %v (%v)", c.Session, r.Outcome, r.Err))
	}
	b.windows[c.Session] = c.Window
}

// Each check finds the backend that breaks its rule: the suite can fail.
func TestChecksCatchBrokenBackends(t *testing.T) {
	for _, tc := range []struct {
		name      string
		new       func() core.Backend
		monotonic bool // false: as with Harness.NotMonotonicAcrossCalls
		fails     []string
	}{
		{"last-writer-wins", func() core.Backend { return lastWriterWins{memory.New()} }, true,
			[]string{"Monotonic", "DuplicatesInOneBatch", "EveryResultFilled", "ConcurrentStores"}},
		{"overwrites-across-calls", func() core.Backend { return overwriter{memory.New()} }, true,
			[]string{"Monotonic"}},
		{"unfilled-results", func() core.Backend { return unfilled{memory.New()} }, true,
			[]string{"Monotonic", "DuplicatesInOneBatch", "InvalidCheckpoints", "EndedContext", "EveryResultFilled"}},
		{"ignores-ended-context", func() core.Backend { return ctxIgnorer{memory.New()} }, true,
			[]string{"EndedContext"}},
		{"nameless-context-errors", func() core.Backend { return namelessCtxErrors{memory.New()} }, true,
			[]string{"EndedContext"}},
		{"retries-invalid", func() core.Backend { return retriesInvalid{memory.New()} }, true,
			[]string{"InvalidCheckpoints", "EveryResultFilled"}},
		{"zero-for-absent", func() core.Backend { return zeroForAbsent{memory.New()} }, true,
			[]string{"InvalidCheckpoints", "EndedContext", "Load", "Delete"}},
		{"delete-noop", func() core.Backend { return deleteNoop{memory.New()} }, true,
			[]string{"Delete"}},
		{"truncates-event-ids", func() core.Backend { return truncator{memory.New()} }, true,
			[]string{"RoundTrip"}},
		{"retains-batch", func() core.Backend { return retainer{memory.New(), new(sync.Mutex), new([]core.Checkpoint)} }, true,
			[]string{"EveryResultFilled"}},
		{"drops-window", func() core.Backend { return newSplitWindow(dropsWindow) }, true,
			[]string{"DuplicatesInOneBatch", "ConcurrentStores", "WindowRoundTrip", "WindowReplaced", "WindowStale"}},
		{"writes-stale-window", func() core.Backend { return newSplitWindow(writesStaleWindow) }, true,
			[]string{"DuplicatesInOneBatch", "WindowReplaced", "WindowStale"}},
		{"keeps-old-window", func() core.Backend { return newSplitWindow(keepsOldWindow) }, true,
			[]string{"WindowReplaced"}},
		{"accepts-invalid-window", func() core.Backend { return newSplitWindow(acceptsInvalidWindow) }, true,
			[]string{"InvalidCheckpoints"}},
		{"loads-bad-window", func() core.Backend { return newSplitWindow(loadsBadWindow) }, true,
			[]string{"CorruptWindow"}},
		{"load-drops-bad-window", func() core.Backend { return newSplitWindow(loadDropsBadWindow) }, true,
			[]string{"CorruptWindow"}},
		{"load-panics-on-bad-window", func() core.Backend { return newSplitWindow(loadPanicsOnBadWindow) }, true,
			[]string{"CorruptWindow"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, name := range tc.fails {
				c := checkNamed(t, name)
				ctx, cancel := context.WithTimeout(t.Context(), DefaultTimeout)
				e := &env{ctx: ctx, b: tc.new(), ns: "broken/" + name + "/", monotonic: tc.monotonic}
				if s, ok := e.b.(*splitWindow); ok {
					e.corrupt = s.corrupt
				}
				err := c.run(e)
				cancel()
				if err == nil {
					t.Errorf("check %s passed a %s backend, want it to fail", name, tc.name)
				} else {
					t.Logf("check %s on %s: %.300v", name, tc.name, err)
				}
			}
		})
	}
}

func checkNamed(t *testing.T, name string) check {
	t.Helper()
	for _, c := range checks {
		if c.name == name {
			return c
		}
	}
	t.Fatalf("no check named %q", name)
	return check{}
}
