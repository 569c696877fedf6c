package shard_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lastevent/lastevent/backends/memory"
	"github.com/lastevent/lastevent/core"
	"github.com/lastevent/lastevent/shard"
)

// faultyBackend is a memory.Backend with switchable faults, for testing how
// the tracker survives a backend outage.
type faultyBackend struct {
	*memory.Backend
	fail     atomic.Bool // Store fails every item with a retryable error
	unfilled atomic.Bool // Store returns without filling any result
	panics   atomic.Bool // Store panics
	failLoad atomic.Bool // Load fails
	hang     atomic.Bool // Store blocks until its ctx ends, then fails
	// storeBudget is, in hang mode, the time left before the deadline of
	// the last Store ctx, or -1 if it had none.
	storeBudget atomic.Int64

	unhang chan struct{} // closed by releaseHung: hung Stores return
	once   sync.Once

	stores   atomic.Int64 // Store calls
	maxBatch atomic.Int64 // largest batch seen
}

func newFaultyBackend() *faultyBackend {
	return &faultyBackend{Backend: memory.New(), unhang: make(chan struct{})}
}

// releaseHung makes hung Stores return, so a test that failed while the
// backend hangs can still close its tracker.
func (f *faultyBackend) releaseHung() { f.once.Do(func() { close(f.unhang) }) }

func (f *faultyBackend) Store(ctx context.Context, batch []core.Checkpoint, results []core.Result) {
	f.stores.Add(1)
	for n := int64(len(batch)); ; {
		m := f.maxBatch.Load()
		if n <= m || f.maxBatch.CompareAndSwap(m, n) {
			break
		}
	}
	switch {
	case f.panics.Load():
		panic("faultyBackend: injected panic")
	case f.unfilled.Load():
		return
	case f.hang.Load():
		budget := time.Duration(-1)
		if dl, ok := ctx.Deadline(); ok {
			budget = time.Until(dl)
		}
		f.storeBudget.Store(int64(budget))
		err := errors.New("released")
		select {
		case <-ctx.Done():
			err = ctx.Err()
		case <-f.unhang:
		}
		for i, cp := range batch {
			results[i] = core.Result{Outcome: core.OutcomeFailed,
				Err: fmt.Errorf("%w: hung: session %q seq %d: %w", core.ErrRetryable, cp.Session, cp.Seq, err)}
		}
		return
	case f.fail.Load():
		for i, cp := range batch {
			results[i] = core.Result{Outcome: core.OutcomeFailed,
				Err: fmt.Errorf("%w: injected outage: session %q seq %d", core.ErrRetryable, cp.Session, cp.Seq)}
		}
		return
	}
	f.Backend.Store(ctx, batch, results)
}

func (f *faultyBackend) Load(ctx context.Context, sessions []string) (map[string]core.Checkpoint, error) {
	if f.failLoad.Load() {
		return nil, fmt.Errorf("%w: injected load failure", core.ErrRetryable)
	}
	return f.Backend.Load(ctx, sessions)
}

// failureLog collects what Config.OnError receives.
type failureLog struct {
	mu sync.Mutex
	fs []shard.WriteFailure
}

func (l *failureLog) record(f shard.WriteFailure) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.fs = append(l.fs, f)
}

func (l *failureLog) all() []shard.WriteFailure {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]shard.WriteFailure(nil), l.fs...)
}

// latest returns the last failure reported for each session.
func (l *failureLog) latest() map[string]shard.WriteFailure {
	m := make(map[string]shard.WriteFailure)
	for _, f := range l.all() {
		m[f.Session] = f
	}
	return m
}

// flushShort calls Flush with a short deadline, for a backend that is down.
func flushShort(tr *shard.Tracker) error {
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	return tr.Flush(ctx)
}

// checkStored fails the test unless the backend holds exactly the tracker's
// in-memory checkpoint of every session.
// getter is a backend that tests can read back (memory.Backend and the
// wrappers around it).
type getter interface {
	Get(string) (core.Checkpoint, bool)
}

// storedOf returns session's stored checkpoint without its window, after
// checking that the window belongs to it (core.Checkpoint.CheckWindow), so
// a test compares it with Tracker.Checkpoint, which carries none. The
// window's contents have tests of their own (window_test.go).
func storedOf(t testing.TB, b getter, session string) (core.Checkpoint, bool) {
	t.Helper()
	cp, ok := b.Get(session)
	return withoutWindow(t, cp), ok
}

func withoutWindow(t testing.TB, cp core.Checkpoint) core.Checkpoint {
	t.Helper()
	if err := cp.CheckWindow(); err != nil {
		t.Errorf("stored %q: %v", cp.Session, err)
	}
	if cp.Seq > 0 && cp.Window == "" {
		t.Errorf("stored %q: %+v carries no window, want its recent IDs", cp.Session, cp)
	}
	cp.Window = ""
	return cp
}

func checkStored(t *testing.T, tr *shard.Tracker, b getter, sessions []string) {
	t.Helper()
	for _, s := range sessions {
		want, _ := tr.Checkpoint(s)
		if got, _ := storedOf(t, b, s); got != want {
			t.Errorf("stored %q: got %+v, want %+v", s, got, want)
		}
	}
}

func TestCoalescingOneWritePerFlush(t *testing.T) {
	b := memory.New()
	tr := startTracker(t, b, hourly(4))
	const k = 50
	for i := 1; i <= k; i++ {
		observe(t, tr, "s", "e"+strconv.Itoa(i))
	}
	if got := b.Stats().Writes; got != 0 {
		t.Fatalf("backend writes before Flush: got %d, want 0", got)
	}
	flush(t, tr)
	if got := b.Stats().Writes; got != 1 {
		t.Fatalf("backend writes for %d events on one session: got %d, want 1", k, got)
	}
	want := core.Checkpoint{Session: "s", EventID: "e" + strconv.Itoa(k), Seq: k}
	if got, _ := storedOf(t, b, "s"); got != want {
		t.Fatalf("stored: got %+v, want %+v", got, want)
	}

	// A clean session is not written again.
	flush(t, tr)
	if got := b.Stats().Writes; got != 1 {
		t.Fatalf("backend writes after flushing a clean session: got %d, want 1", got)
	}
	// Duplicates do not dirty it.
	observe(t, tr, "s", "e"+strconv.Itoa(k))
	flush(t, tr)
	if got := b.Stats().Writes; got != 1 {
		t.Fatalf("backend writes after flushing a duplicate: got %d, want 1", got)
	}
	// New events do, once.
	for i := k + 1; i <= k+3; i++ {
		observe(t, tr, "s", "e"+strconv.Itoa(i))
	}
	flush(t, tr)
	if got := b.Stats().Writes; got != 2 {
		t.Fatalf("backend writes after a second batch of events: got %d, want 2", got)
	}
	if got, _ := storedOf(t, b, "s"); got.Seq != k+3 {
		t.Fatalf("stored seq: got %d, want %d", got.Seq, k+3)
	}
	if got := b.Stats().Stale; got != 0 {
		t.Fatalf("stale writes: got %d, want 0", got)
	}
}

func TestCoalescingManySessions(t *testing.T) {
	b := memory.New()
	tr := startTracker(t, b, hourly(8))
	const n = 300
	sessions := make([]string, n)
	for i := range sessions {
		sessions[i] = "session-" + strconv.Itoa(i)
		for e := range i%7 + 1 {
			observe(t, tr, sessions[i], strconv.Itoa(e))
		}
	}
	flush(t, tr)
	if got := b.Stats().Writes; got != n {
		t.Fatalf("backend writes for %d dirty sessions: got %d, want %d", n, got, n)
	}
	checkStored(t, tr, b, sessions)

	// Dirty a subset: only those are written.
	const dirty = 40
	for i := range dirty {
		for e := range 5 {
			observe(t, tr, sessions[i*7], "more-"+strconv.Itoa(e))
		}
	}
	flush(t, tr)
	if got := b.Stats().Writes; got != n+dirty {
		t.Fatalf("backend writes after dirtying %d sessions: got %d, want %d", dirty, got, n+dirty)
	}
	checkStored(t, tr, b, sessions)
}

func TestEarlyFlushAtMaxBatch(t *testing.T) {
	b := memory.New()
	const maxBatch = 16
	tr := startTracker(t, b, shard.Config{Shards: 1, MaxBatch: maxBatch, FlushInterval: time.Hour})
	sessions := make([]string, maxBatch)
	for i := range sessions {
		sessions[i] = "s" + strconv.Itoa(i)
		observe(t, tr, sessions[i], "1")
	}
	// No Flush: a full batch must not wait for the hourly tick.
	waitFor(t, fmt.Sprintf("%d sessions written by an early flush", maxBatch), func() bool {
		return b.Stats().Writes == maxBatch
	})
	checkStored(t, tr, b, sessions)
}

func TestStoreBatchesAtMostMaxBatch(t *testing.T) {
	fb := newFaultyBackend()
	const maxBatch, n = 16, 100
	tr := startTracker(t, fb, shard.Config{Shards: 1, MaxBatch: maxBatch, FlushInterval: time.Hour})
	sessions := make([]string, n)
	for i := range sessions {
		sessions[i] = "s" + strconv.Itoa(i)
		observe(t, tr, sessions[i], "1")
	}
	flush(t, tr)
	if got := fb.maxBatch.Load(); got > maxBatch {
		t.Fatalf("largest Store batch: got %d, want at most %d", got, maxBatch)
	}
	if got := fb.Stats().Writes; got != n {
		t.Fatalf("backend writes: got %d, want %d", got, n)
	}
	checkStored(t, tr, fb, sessions)
}

// TestFlushBarrierUnderConcurrentObserve: goroutines observe on shared
// sessions and flush at random points. When a Flush returns nil, every
// event whose Observe returned before the Flush started must be stored.
func TestFlushBarrierUnderConcurrentObserve(t *testing.T) {
	const goroutines, sessions, events = 4, 64, 3000
	b := memory.New()
	// Few shards, so goroutines contend on the same dirty stacks; a batch
	// smaller than the dirty set, so full-batch wakeups race the barrier.
	tr := startTracker(t, b, shard.Config{Shards: 4, MaxBatch: 8, FlushInterval: time.Hour})
	names := make([]string, sessions)
	for i := range names {
		names[i] = "shared-" + strconv.Itoa(i)
	}
	// done[s] counts Observes of names[s] that returned accepted. Their Seqs
	// are distinct and positive, so the newest of them is at least done[s]:
	// a barrier covering them must leave the backend at >= done[s].
	var done [sessions]atomic.Uint64
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 7))
			own := fmt.Sprintf("own-%d", g) // written by this goroutine only
			nextFlush := rng.IntN(200) + 1
			for i := range events {
				s := rng.IntN(sessions)
				if ok, err := tr.Observe(names[s], fmt.Sprintf("g%d-%d", g, i)); err != nil || !ok {
					t.Errorf("Observe(%q): got (%v, %v), want (true, nil)", names[s], ok, err)
					return
				}
				done[s].Add(1)
				if ok, err := tr.Observe(own, strconv.Itoa(i)); err != nil || !ok {
					t.Errorf("Observe(%q): got (%v, %v), want (true, nil)", own, ok, err)
					return
				}
				if i != nextFlush {
					continue
				}
				nextFlush += rng.IntN(200) + 1
				ownCP, _ := tr.Checkpoint(own)
				set := rng.Perm(sessions)[:16]
				want := make([]uint64, len(set))
				for j, s := range set {
					want[j] = done[s].Load()
				}
				ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
				err := tr.Flush(ctx)
				cancel()
				if err != nil {
					t.Errorf("Flush: %v", err)
					return
				}
				if got, _ := storedOf(t, b, own); got.Seq < ownCP.Seq || (got.Seq == ownCP.Seq && got != ownCP) {
					t.Errorf("after Flush, stored %q: got %+v, want %+v or newer", own, got, ownCP)
				}
				for j, s := range set {
					if got, _ := storedOf(t, b, names[s]); got.Seq < want[j] {
						t.Errorf("after Flush, stored %q: got seq %d, want >= %d", names[s], got.Seq, want[j])
					}
				}
			}
		}()
	}
	wg.Wait()
	flush(t, tr)
	checkStored(t, tr, b, names)
}

func TestFlushDuringOutage(t *testing.T) {
	fb := newFaultyBackend()
	failures := &failureLog{}
	// Retries only when Flush asks, so the attempt numbers are exact.
	tr := startTracker(t, fb, shard.Config{Shards: 1, FlushInterval: time.Hour, OnError: failures.record,
		RetryBaseDelay: time.Hour, RetryMaxDelay: time.Hour})
	sessions := []string{"a", "b", "c", "d", "e"}
	for _, s := range sessions {
		for i := 1; i <= 3; i++ {
			observe(t, tr, s, s+strconv.Itoa(i))
		}
	}

	fb.fail.Store(true)
	err := flushShort(tr)
	if !errors.Is(err, shard.ErrUnflushed) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Flush during outage: got %v, want an error wrapping ErrUnflushed and context.DeadlineExceeded", err)
	}
	waitFor(t, "OnError for every session", func() bool { return len(failures.latest()) == len(sessions) })
	for _, s := range sessions {
		f := failures.latest()[s]
		if f.Seq != 3 || f.Attempt != 1 || !f.Retry || !errors.Is(f.Err, core.ErrRetryable) {
			t.Errorf("OnError for %q: got %+v, want seq 3, attempt 1, Retry, Err wrapping core.ErrRetryable", s, f)
		}
	}

	// Newer events during the outage; a new session too.
	for _, s := range sessions {
		observe(t, tr, s, s+"4")
		observe(t, tr, s, s+"5")
	}
	observe(t, tr, "late", "1")
	if err := flushShort(tr); !errors.Is(err, shard.ErrUnflushed) {
		t.Fatalf("second Flush during outage: got %v, want ErrUnflushed", err)
	}
	waitFor(t, "second failed attempt of every session", func() bool {
		l := failures.latest()
		for _, s := range sessions {
			if l[s].Attempt < 2 {
				return false
			}
		}
		return l["late"].Attempt >= 1
	})
	for _, s := range sessions {
		if f := failures.latest()[s]; f.Seq != 5 || f.Attempt != 2 {
			t.Errorf("second OnError for %q: got seq %d attempt %d, want seq 5 (the newest) attempt 2", s, f.Seq, f.Attempt)
		}
	}
	if got := fb.Len(); got != 0 {
		t.Fatalf("stored sessions during outage: got %d, want 0", got)
	}

	fb.fail.Store(false)
	flush(t, tr)
	checkStored(t, tr, fb, append(sessions, "late"))
	if got, _ := storedOf(t, fb, "a"); got.Seq != 5 || got.EventID != "a5" {
		t.Fatalf("stored a after recovery: got %+v, want seq 5 ID a5", got)
	}
	if got := fb.Stats().Writes; got != uint64(len(sessions)+1) {
		t.Fatalf("backend writes after recovery: got %d, want %d", got, len(sessions)+1)
	}
}

func TestFlushRetriesUnfilledResults(t *testing.T) {
	fb := newFaultyBackend()
	failures := &failureLog{}
	tr := startTracker(t, fb, shard.Config{Shards: 2, FlushInterval: time.Hour, OnError: failures.record})
	sessions := []string{"x", "y", "z"}
	for _, s := range sessions {
		observe(t, tr, s, "1")
	}
	fb.unfilled.Store(true)
	if err := flushShort(tr); !errors.Is(err, shard.ErrUnflushed) {
		t.Fatalf("Flush with unfilled results: got %v, want ErrUnflushed", err)
	}
	waitFor(t, "OnError for every session", func() bool { return len(failures.latest()) == len(sessions) })
	for _, f := range failures.all() {
		if !errors.Is(f.Err, core.ErrNoOutcome) || !core.IsRetryable(f.Err) || !f.Retry {
			t.Errorf("OnError for unfilled result: got %+v, want a retryable Err wrapping core.ErrNoOutcome", f)
		}
	}
	fb.unfilled.Store(false)
	flush(t, tr)
	checkStored(t, tr, fb, sessions)
	if got := fb.Len(); got != len(sessions) {
		t.Fatalf("stored sessions: got %d, want %d", got, len(sessions))
	}
}

func TestFlushSurvivesPanickingBackend(t *testing.T) {
	fb := newFaultyBackend()
	failures := &failureLog{}
	tr := startTracker(t, fb, shard.Config{Shards: 1, FlushInterval: time.Hour, OnError: failures.record})
	observe(t, tr, "p", "1")
	fb.panics.Store(true)
	if err := flushShort(tr); !errors.Is(err, shard.ErrUnflushed) {
		t.Fatalf("Flush with panicking backend: got %v, want ErrUnflushed", err)
	}
	waitFor(t, "OnError after the panic", func() bool { return len(failures.all()) > 0 })
	if f := failures.all()[0]; f.Session != "p" || f.Seq != 1 || !strings.Contains(f.Err.Error(), "panic") {
		t.Fatalf("OnError after panic: got %+v, want session p seq 1 and an error mentioning the panic", f)
	}
	// The flusher is still alive: it takes new work and, once the backend
	// stops panicking, stores everything.
	observe(t, tr, "p", "2")
	observe(t, tr, "q", "1")
	fb.panics.Store(false)
	flush(t, tr)
	checkStored(t, tr, fb, []string{"p", "q"})
	if got, _ := storedOf(t, fb, "p"); got.Seq != 2 {
		t.Fatalf("stored p: got %+v, want seq 2", got)
	}
}

func TestStoreTimeoutBoundsStore(t *testing.T) {
	fb := newFaultyBackend()
	failures := &failureLog{}
	const timeout = 20 * time.Millisecond
	tr := startTracker(t, fb, shard.Config{Shards: 1, FlushInterval: time.Hour, StoreTimeout: timeout, OnError: failures.record})
	t.Cleanup(fb.releaseHung) // runs before the tracker's Close
	observe(t, tr, "h", "1")
	fb.hang.Store(true)
	if err := flushShort(tr); !errors.Is(err, shard.ErrUnflushed) {
		t.Fatalf("Flush with hung backend: got %v, want ErrUnflushed", err)
	}
	waitFor(t, "OnError after the Store timeout", func() bool { return len(failures.all()) > 0 })
	if f := failures.all()[0]; !errors.Is(f.Err, context.DeadlineExceeded) {
		t.Fatalf("OnError for hung Store: got %v, want an error wrapping context.DeadlineExceeded", f.Err)
	}
	if budget := time.Duration(fb.storeBudget.Load()); budget < 0 || budget > timeout {
		t.Fatalf("Store ctx deadline: got %v left at the call, want a deadline at most StoreTimeout %v away", budget, timeout)
	}
	fb.hang.Store(false)
	flush(t, tr)
	checkStored(t, tr, fb, []string{"h"})
}

// TestCloseBoundsHungBackend: Close's ctx bounds its final writes, even when
// StoreTimeout is long and the backend hangs until its ctx ends.
func TestCloseBoundsHungBackend(t *testing.T) {
	fb := newFaultyBackend()
	tr := startTracker(t, fb, shard.Config{Shards: 2, FlushInterval: time.Hour, StoreTimeout: time.Hour})
	t.Cleanup(fb.releaseHung) // runs before the tracker's Close
	observe(t, tr, "a", "1")
	observe(t, tr, "b", "1")
	fb.hang.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	result := make(chan error, 1)
	go func() { result <- tr.Close(ctx) }()
	select {
	case err := <-result:
		if !errors.Is(err, shard.ErrUnflushed) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Close with hung backend: got %v, want ErrUnflushed and context.DeadlineExceeded", err)
		}
	case <-time.After(waitTimeout):
		t.Fatalf("Close with hung backend did not return within %v of its context ending", waitTimeout)
	}
}

func TestCloseIdempotent(t *testing.T) {
	ctx := context.Background()
	b := memory.New()
	tr := startTracker(t, b, hourly(4))
	observe(t, tr, "s", "1")

	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = tr.Close(ctx)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("concurrent Close #%d: got %v, want nil", i, err)
		}
	}
	if err := tr.Close(ctx); err != nil {
		t.Fatalf("Close after Close: got %v, want nil", err)
	}
	if got, _ := storedOf(t, b, "s"); got.Seq != 1 {
		t.Fatalf("stored after Close: got %+v, want seq 1", got)
	}
}

func TestMethodsAfterClose(t *testing.T) {
	ctx := context.Background()
	b := memory.New()
	tr := startTracker(t, b, hourly(2))
	observe(t, tr, "s", "1")
	if err := tr.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	writes := b.Stats().Writes
	if ok, err := tr.Observe("s", "2"); ok || !errors.Is(err, shard.ErrClosed) {
		t.Errorf("Observe after Close: got (%v, %v), want (false, ErrClosed)", ok, err)
	}
	if ok, err := tr.Observe("new", "1"); ok || !errors.Is(err, shard.ErrClosed) {
		t.Errorf("Observe of a new session after Close: got (%v, %v), want (false, ErrClosed)", ok, err)
	}
	if _, err := tr.Resume(ctx, "s"); !errors.Is(err, shard.ErrClosed) {
		t.Errorf("Resume after Close: got %v, want ErrClosed", err)
	}
	if err := tr.Flush(ctx); !errors.Is(err, shard.ErrClosed) {
		t.Errorf("Flush after Close: got %v, want ErrClosed", err)
	}
	if got := b.Stats().Writes; got != writes {
		t.Errorf("backend writes after Close: got %d, want %d", got, writes)
	}
}

func TestCloseStoresEverythingAccepted(t *testing.T) {
	b := memory.New()
	tr := startTracker(t, b, shard.Config{Shards: 4, FlushInterval: time.Hour, MaxBatch: 32})
	sessions := make([]string, 500)
	for i := range sessions {
		sessions[i] = "s" + strconv.Itoa(i)
		for e := range i%3 + 1 {
			observe(t, tr, sessions[i], strconv.Itoa(e))
		}
	}
	want := make(map[string]core.Checkpoint, len(sessions))
	for _, s := range sessions {
		want[s], _ = tr.Checkpoint(s)
	}
	if err := tr.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for _, s := range sessions {
		if got, _ := storedOf(t, b, s); got != want[s] {
			t.Errorf("stored %q after Close: got %+v, want %+v", s, got, want[s])
		}
	}
}

// TestObserveRacingClose: every Observe that returned (true, nil) must be
// stored once Close returns, however it interleaved with Close.
func TestObserveRacingClose(t *testing.T) {
	const goroutines = 8
	for round := range 5 {
		b := memory.New()
		tr := startTracker(t, b, shard.Config{Shards: 4, FlushInterval: time.Hour, MaxBatch: 16})
		var total atomic.Int64
		accepted := make([]map[string]uint64, goroutines) // per goroutine: session -> accepted events
		var wg sync.WaitGroup
		for g := range goroutines {
			accepted[g] = make(map[string]uint64)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					// Each session is written by one goroutine, and new
					// sessions keep being created while Close runs.
					s := fmt.Sprintf("r%d-g%d-s%d", round, g, i/20)
					ok, err := tr.Observe(s, strconv.Itoa(i))
					if errors.Is(err, shard.ErrClosed) {
						return
					}
					if err != nil || !ok {
						t.Errorf("Observe(%q, %d): got (%v, %v), want (true, nil) before Close", s, i, ok, err)
						return
					}
					accepted[g][s]++
					total.Add(1)
				}
			}()
		}
		closeWhileObserving(t, tr, b, &wg, func() bool { return total.Load() >= 2000 })
		for g := range accepted {
			for s, n := range accepted[g] {
				if got, _ := storedOf(t, b, s); got.Seq < n {
					t.Errorf("round %d: stored %q after Close: got seq %d, want >= %d accepted", round, s, got.Seq, n)
				}
			}
		}
	}
}

// TestObserveRacingCloseSharedSessions: like TestObserveRacingClose, but
// goroutines share sessions, so one's Observe may find the session already
// queued by another that has not finished queueing it. done[s] counts the
// Observes of s that returned (true, nil); their Seqs are distinct, so the
// stored Seq must be at least done[s].
func TestObserveRacingCloseSharedSessions(t *testing.T) {
	const goroutines, sessions = 6, 8
	for round := range 20 {
		b := memory.New()
		tr := startTracker(t, b, shard.Config{Shards: 2, FlushInterval: time.Hour, MaxBatch: 4})
		var done [sessions]atomic.Uint64
		var total atomic.Int64
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					s := (i + g) % sessions
					ok, err := tr.Observe("s"+strconv.Itoa(s), fmt.Sprintf("g%d-%d", g, i))
					if errors.Is(err, shard.ErrClosed) {
						return
					}
					if err != nil || !ok {
						t.Errorf("Observe: got (%v, %v), want (true, nil) before Close", ok, err)
						return
					}
					done[s].Add(1)
					total.Add(1)
				}
			}()
		}
		closeWhileObserving(t, tr, b, &wg, func() bool { return total.Load() >= 500 })
		for s := range done {
			if got, _ := storedOf(t, b, "s"+strconv.Itoa(s)); got.Seq < done[s].Load() {
				t.Errorf("round %d: stored s%d after Close: got seq %d, want >= %d", round, s, got.Seq, done[s].Load())
			}
		}
	}
}

// closeWhileObserving waits until started holds, closes tr while its
// observers run, waits for them to stop, and checks that Close left nothing
// behind: every checkpoint held in memory is exactly the stored one, so an
// Observe that got ErrClosed changed nothing and none accepted was dropped.
func closeWhileObserving(t *testing.T, tr *shard.Tracker, b *memory.Backend, observers *sync.WaitGroup, started func() bool) {
	t.Helper()
	waitFor(t, "observers to get going", started)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := tr.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	observers.Wait()
	b.Range(func(stored core.Checkpoint) bool {
		stored = withoutWindow(t, stored)
		if mem, _ := tr.Checkpoint(stored.Session); mem != stored {
			t.Errorf("session %q after Close: in memory %+v, stored %+v; want equal", stored.Session, mem, stored)
		}
		return true
	})
	if n := b.Len(); n != tr.Sessions() {
		t.Errorf("sessions after Close: %d in memory, %d stored; want equal", tr.Sessions(), n)
	}
}

func TestCloseDuringOutage(t *testing.T) {
	fb := newFaultyBackend()
	tr := startTracker(t, fb, shard.Config{Shards: 4, FlushInterval: time.Hour})
	const n = 7
	for i := range n {
		observe(t, tr, "s"+strconv.Itoa(i), "1")
	}
	fb.fail.Store(true)

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	result := make(chan error, 1)
	go func() { result <- tr.Close(ctx) }()
	var err error
	select {
	case err = <-result:
	case <-time.After(waitTimeout):
		t.Fatalf("Close did not return within %v of its context ending", waitTimeout)
	}
	if !errors.Is(err, shard.ErrUnflushed) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close during outage: got %v, want an error wrapping ErrUnflushed and context.DeadlineExceeded", err)
	}
	if want := fmt.Sprintf("%d sessions", n); !strings.Contains(err.Error(), want) {
		t.Fatalf("Close during outage: got %q, want it to mention %q", err, want)
	}
	if again := tr.Close(context.Background()); again == nil || again.Error() != err.Error() {
		t.Fatalf("second Close: got %v, want the first result %v", again, err)
	}
	if _, err := tr.Observe("s0", "2"); !errors.Is(err, shard.ErrClosed) {
		t.Fatalf("Observe after failed Close: got %v, want ErrClosed", err)
	}
	if got := fb.Len(); got != 0 {
		t.Fatalf("stored during outage: got %d, want 0", got)
	}
	// goleak (TestMain) checks that the flushers stopped.
}

func TestCloseRetriesUntilBackendRecovers(t *testing.T) {
	fb := newFaultyBackend()
	// A short interval: Close retries failed writes on the tick.
	tr := startTracker(t, fb, shard.Config{Shards: 2, FlushInterval: 5 * time.Millisecond})
	sessions := []string{"a", "b", "c"}
	for _, s := range sessions {
		observe(t, tr, s, "1")
		observe(t, tr, s, "2")
	}
	fb.fail.Store(true)
	result := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		result <- tr.Close(ctx)
	}()
	stores := fb.stores.Load()
	waitFor(t, "Close to retry during the outage", func() bool { return fb.stores.Load() >= stores+4 })
	fb.fail.Store(false)
	if err := <-result; err != nil {
		t.Fatalf("Close after the backend recovered: got %v, want nil", err)
	}
	for _, s := range sessions {
		if got, _ := storedOf(t, fb, s); got.Seq != 2 || got.EventID != "2" {
			t.Errorf("stored %q after Close: got %+v, want seq 2 ID 2", s, got)
		}
	}
}
