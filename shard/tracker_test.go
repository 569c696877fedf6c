package shard_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lastevent/lastevent/backends/memory"
	"github.com/lastevent/lastevent/core"
	"github.com/lastevent/lastevent/shard"
)

// waitTimeout bounds every wait for background work in these tests. It is a
// hang detector, never a timing assertion: a healthy run waits milliseconds.
const waitTimeout = 30 * time.Second

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// startTracker returns a Tracker on b with cfg (logging discarded unless cfg
// sets a Logger) that is closed when the test ends. Tests that assert on
// Close call it themselves; the cleanup's second Close is then a no-op.
func startTracker(t testing.TB, b core.Backend, cfg shard.Config) *shard.Tracker {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = discardLogger()
	}
	tr, err := shard.New(b, cfg)
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = tr.Close(ctx)
	})
	return tr
}

// observe calls Observe and fails the test on an error.
func observe(t testing.TB, tr *shard.Tracker, session, id string) bool {
	t.Helper()
	accepted, err := tr.Observe(session, id)
	if err != nil {
		t.Fatalf("Observe(%q, %q): %v", session, id, err)
	}
	return accepted
}

// flush calls Flush with a generous deadline and fails the test on an error.
func flush(t testing.TB, tr *shard.Tracker) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := tr.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
}

// waitFor polls cond until it holds, failing the test after waitTimeout.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", waitTimeout, what)
		}
		time.Sleep(time.Millisecond)
	}
}

// hourly is a Config whose flushers write only on an explicit Flush (or a
// full batch), which makes backend counters deterministic.
func hourly(shards int) shard.Config {
	return shard.Config{Shards: shards, FlushInterval: time.Hour, MaxBatch: 1 << 16}
}

func TestDedupAcrossWindowEdge(t *testing.T) {
	for _, window := range []int{1, 2, 4, 8, 16, 128, 1024} {
		t.Run(fmt.Sprintf("window=%d", window), func(t *testing.T) {
			b := memory.New()
			tr := startTracker(t, b, shard.Config{Window: window, Shards: 1, FlushInterval: time.Hour})
			const s = "session"
			// 3 windows plus a bit: the ring grows from its small initial
			// size up to the window, then wraps several times.
			n := 3*window + 3
			for i := range n {
				if !observe(t, tr, s, strconv.Itoa(i)) {
					t.Fatalf("first Observe of ID %d: got duplicate, want accepted", i)
				}
			}
			// The last window IDs are remembered.
			for i := n - window; i < n; i++ {
				if observe(t, tr, s, strconv.Itoa(i)) {
					t.Fatalf("replay of ID %d (within the last %d): got accepted, want duplicate", i, window)
				}
			}
			cp, _ := tr.Checkpoint(s)
			if cp.Seq != uint64(n) || cp.EventID != strconv.Itoa(n-1) {
				t.Fatalf("checkpoint after replays: got %+v, want seq %d ID %d", cp, n, n-1)
			}
			// The ID just outside the window has been forgotten: a replay of
			// it is accepted as a new event.
			old := strconv.Itoa(n - window - 1)
			if !observe(t, tr, s, old) {
				t.Fatalf("replay of ID %s (just outside the window): got duplicate, want accepted", old)
			}
			if cp, _ := tr.Checkpoint(s); cp.Seq != uint64(n+1) || cp.EventID != old {
				t.Fatalf("checkpoint after re-accepting %s: got %+v, want seq %d", old, cp, n+1)
			}
			// It is now the newest ID, so replaying it again is a duplicate.
			if observe(t, tr, s, old) {
				t.Fatalf("second replay of ID %s: got accepted, want duplicate", old)
			}
		})
	}
}

func TestDedupAfterRingGrowth(t *testing.T) {
	// Window 1024 and fewer IDs than the window: the ring grows through
	// every size below the window and must forget nothing.
	tr := startTracker(t, memory.New(), shard.Config{Window: 1024, FlushInterval: time.Hour})
	const s, n = "grow", 1000
	for i := range n {
		if !observe(t, tr, s, "id-"+strconv.Itoa(i)) {
			t.Fatalf("first Observe of ID %d: got duplicate, want accepted", i)
		}
	}
	for i := range n {
		if observe(t, tr, s, "id-"+strconv.Itoa(i)) {
			t.Fatalf("replay of ID %d after ring growth: got accepted, want duplicate", i)
		}
	}
	if cp, _ := tr.Checkpoint(s); cp.Seq != n {
		t.Fatalf("seq after %d IDs and their replays: got %d, want %d", n, cp.Seq, n)
	}
}

func TestDedupIsPerSession(t *testing.T) {
	tr := startTracker(t, memory.New(), hourly(4))
	for _, s := range []string{"a", "b", "c"} {
		if !observe(t, tr, s, "same-id") {
			t.Fatalf("Observe(%q, same-id): got duplicate, want accepted (sessions are independent)", s)
		}
	}
	if got := tr.Sessions(); got != 3 {
		t.Fatalf("Sessions: got %d, want 3", got)
	}
}

func TestDuplicateChangesNothing(t *testing.T) {
	b := memory.New()
	tr := startTracker(t, b, hourly(2))
	observe(t, tr, "s", "1")
	observe(t, tr, "s", "2")
	flush(t, tr)
	writes := b.Stats().Writes
	if observe(t, tr, "s", "1") {
		t.Fatal("replay of 1: got accepted, want duplicate")
	}
	if id, _ := tr.LastEventID("s"); id != "2" {
		t.Fatalf("LastEventID after a duplicate: got %q, want %q", id, "2")
	}
	if cp, _ := tr.Checkpoint("s"); cp.Seq != 2 {
		t.Fatalf("seq after a duplicate: got %d, want 2", cp.Seq)
	}
	flush(t, tr)
	if got := b.Stats().Writes; got != writes {
		t.Fatalf("backend writes after flushing only a duplicate: got %d, want %d", got, writes)
	}
}

func TestLastEventIDAndCheckpointOfUnknownSession(t *testing.T) {
	tr := startTracker(t, memory.New(), hourly(2))
	if id, ok := tr.LastEventID("nobody"); ok || id != "" {
		t.Fatalf("LastEventID of unknown session: got (%q, %v), want (\"\", false)", id, ok)
	}
	if cp, ok := tr.Checkpoint("nobody"); ok || !cp.IsZero() {
		t.Fatalf("Checkpoint of unknown session: got (%+v, %v), want zero, false", cp, ok)
	}
}

func TestResumeContinuesSeq(t *testing.T) {
	ctx := context.Background()
	b := memory.New()
	const s, k = "session-1", 7

	a := startTracker(t, b, hourly(4))
	for i := 1; i <= k; i++ {
		observe(t, a, s, "e"+strconv.Itoa(i))
	}
	if err := a.Close(ctx); err != nil {
		t.Fatalf("Close of first tracker: %v", err)
	}

	// A restart: a new tracker on the same backend.
	c := startTracker(t, b, hourly(4))
	if id, ok := c.LastEventID(s); ok {
		t.Fatalf("LastEventID before Resume: got (%q, true), want nothing in memory", id)
	}
	cp, err := c.Resume(ctx, s)
	if err != nil {
		t.Fatalf("Resume: %v", err)
	}
	want := core.Checkpoint{Session: s, EventID: "e" + strconv.Itoa(k), Seq: k}
	if cp != want {
		t.Fatalf("Resume: got %+v, want %+v", cp, want)
	}
	if id, ok := c.LastEventID(s); !ok || id != want.EventID {
		t.Fatalf("LastEventID right after Resume: got (%q, %v), want (%q, true)", id, ok, want.EventID)
	}
	if got, ok := c.Checkpoint(s); !ok || got != want {
		t.Fatalf("Checkpoint right after Resume: got (%+v, %v), want (%+v, true)", got, ok, want)
	}
	if observe(t, c, s, want.EventID) {
		t.Fatalf("replay of the stored last ID %q after Resume: got accepted, want duplicate", want.EventID)
	}
	if !observe(t, c, s, "next") {
		t.Fatal("new ID after Resume: got duplicate, want accepted")
	}
	flush(t, c)
	stored, _ := storedOf(t, b, s)
	if want := (core.Checkpoint{Session: s, EventID: "next", Seq: k + 1}); stored != want {
		t.Fatalf("stored after Resume + Observe + Flush: got %+v, want %+v", stored, want)
	}

	// A second Resume of a session that already knows its history makes no
	// backend call and returns the in-memory checkpoint.
	loads := b.Stats().Loads
	cp, err = c.Resume(ctx, s)
	if err != nil || cp.Seq != k+1 || cp.EventID != "next" {
		t.Fatalf("second Resume: got (%+v, %v), want seq %d ID next", cp, err, k+1)
	}
	if got := b.Stats().Loads; got != loads {
		t.Fatalf("backend loads by a second Resume: got %d, want %d", got-loads, 0)
	}
}

func TestResumeUnknownSession(t *testing.T) {
	ctx := context.Background()
	b := memory.New()
	tr := startTracker(t, b, hourly(2))
	cp, err := tr.Resume(ctx, "new")
	if err != nil {
		t.Fatalf("Resume of unknown session: %v", err)
	}
	if cp.Seq != 0 || cp.EventID != "" {
		t.Fatalf("Resume of unknown session: got %+v, want seq 0", cp)
	}
	if id, ok := tr.LastEventID("new"); ok {
		t.Fatalf("LastEventID after Resume of unknown session: got (%q, true), want false", id)
	}
	observe(t, tr, "new", "first")
	flush(t, tr)
	if got, _ := storedOf(t, b, "new"); got.Seq != 1 || got.EventID != "first" {
		t.Fatalf("stored after first event: got %+v, want seq 1 ID first", got)
	}
}

func TestResumeBackendFailure(t *testing.T) {
	fb := newFaultyBackend()
	tr := startTracker(t, fb, hourly(2))
	fb.failLoad.Store(true)
	_, err := tr.Resume(context.Background(), "s")
	if !errors.Is(err, core.ErrRetryable) {
		t.Fatalf("Resume with failing Load: got %v, want an error wrapping core.ErrRetryable", err)
	}
	if got := tr.Sessions(); got != 0 {
		t.Fatalf("Sessions after failed Resume: got %d, want 0", got)
	}
	fb.failLoad.Store(false)
	if _, err := tr.Resume(context.Background(), "s"); err != nil {
		t.Fatalf("Resume after Load recovered: %v", err)
	}
}

// TestResumeRebasesFreshSession: a session Observed before its Resume started
// at Seq 1 without knowing its stored history. Its events must be numbered on
// top of the stored Seq — by Resume, or by the flusher's load before the
// first write when no Resume came first — and the next flush must store
// that, not leave the backend at the old value or move it backwards.
func TestResumeRebasesFreshSession(t *testing.T) {
	for _, flushFirst := range []bool{false, true} {
		t.Run(fmt.Sprintf("flushBeforeResume=%v", flushFirst), func(t *testing.T) {
			ctx := context.Background()
			b := memory.New()
			const s, stored = "s", 10
			a := startTracker(t, b, hourly(2))
			for i := 1; i <= stored; i++ {
				observe(t, a, s, "old-"+strconv.Itoa(i))
			}
			if err := a.Close(ctx); err != nil {
				t.Fatalf("Close: %v", err)
			}

			c := startTracker(t, b, hourly(2))
			for _, id := range []string{"x", "y", "z"} {
				observe(t, c, s, id)
			}
			if cp, _ := c.Checkpoint(s); cp.Seq != 3 {
				t.Fatalf("seq of fresh session before Resume: got %d, want 3", cp.Seq)
			}
			want := core.Checkpoint{Session: s, EventID: "z", Seq: stored + 3}
			if flushFirst {
				flush(t, c) // the flusher loads seq 10 and renumbers before writing
				if got, _ := storedOf(t, b, s); got != want {
					t.Fatalf("stored after flushing the fresh session: got %+v, want %+v", got, want)
				}
				if cp, _ := c.Checkpoint(s); cp != want {
					t.Fatalf("checkpoint after the flusher adopted the stored history: got %+v, want %+v", cp, want)
				}
			}
			cp, err := c.Resume(ctx, s)
			if err != nil {
				t.Fatalf("Resume: %v", err)
			}
			if cp != want {
				t.Fatalf("Resume of fresh session: got %+v, want %+v", cp, want)
			}
			if id, _ := c.LastEventID(s); id != "z" {
				t.Fatalf("LastEventID after Resume: got %q, want z", id)
			}
			flush(t, c)
			if got, _ := storedOf(t, b, s); got != want {
				t.Fatalf("stored after Resume + Flush: got %+v, want %+v", got, want)
			}
			observe(t, c, s, "w")
			flush(t, c)
			if got, _ := storedOf(t, b, s); got.Seq != stored+4 || got.EventID != "w" {
				t.Fatalf("stored after next event: got %+v, want seq %d ID w", got, stored+4)
			}
		})
	}
}

// TestResumeRacingObserve stresses the first Resume of a session running
// concurrently with its first Observe. Whatever the interleaving, once both
// returned, a Flush must store the checkpoint the tracker holds in memory.
func TestResumeRacingObserve(t *testing.T) {
	ctx := context.Background()
	b := memory.New()
	tr := startTracker(t, b, hourly(1))
	const seed, iterations = "seeded", 2000 // enough to hit narrow interleavings
	// Stored history for every session of the loop: Seq 5.
	for i := range iterations {
		s := seed + strconv.Itoa(i)
		results := make([]core.Result, 1)
		b.Store(ctx, []core.Checkpoint{{Session: s, EventID: "old", Seq: 5}}, results)
	}
	for i := range iterations {
		s := seed + strconv.Itoa(i)
		var wg sync.WaitGroup
		wg.Add(3)
		go func() {
			defer wg.Done()
			if _, err := tr.Resume(ctx, s); err != nil {
				t.Errorf("Resume(%q): %v", s, err)
			}
		}()
		go func() {
			defer wg.Done()
			if _, err := tr.Observe(s, "new"); err != nil {
				t.Errorf("Observe(%q): %v", s, err)
			}
		}()
		go func() {
			defer wg.Done()
			// A flush racing both, so the fresh Seq may be written before
			// the rebase.
			if err := tr.Flush(ctx); err != nil {
				t.Errorf("Flush: %v", err)
			}
		}()
		wg.Wait()
		flush(t, tr)
		mem, _ := tr.Checkpoint(s)
		got, _ := storedOf(t, b, s)
		if got != mem {
			t.Fatalf("iteration %d: stored after Resume||Observe and Flush: got %+v, want the in-memory %+v", i, got, mem)
		}
	}
}

// TestConcurrentObserveSameIDs: goroutines racing to observe the same IDs on
// one session; each ID must be accepted exactly once.
func TestConcurrentObserveSameIDs(t *testing.T) {
	const goroutines, ids = 8, 1000
	tr := startTracker(t, memory.New(), shard.Config{Window: 1024, FlushInterval: time.Hour})
	var accepted [ids]atomic.Int32
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			order := rand.New(rand.NewPCG(uint64(g), 42)).Perm(ids)
			for _, i := range order {
				ok, err := tr.Observe("shared", "id-"+strconv.Itoa(i))
				if err != nil {
					t.Errorf("Observe: %v", err)
					return
				}
				if ok {
					accepted[i].Add(1)
				}
			}
		}()
	}
	wg.Wait()
	for i := range accepted {
		if n := accepted[i].Load(); n != 1 {
			t.Errorf("ID %d accepted %d times, want exactly once", i, n)
		}
	}
	if cp, _ := tr.Checkpoint("shared"); cp.Seq != ids {
		t.Fatalf("final seq: got %d, want %d", cp.Seq, ids)
	}
}

// TestReadersNeverSeeSeqGoBack runs wait-free readers against writers: the
// Seq a reader sees never decreases, and with a single writer the ID always
// belongs to its Seq (no torn pair).
func TestReadersNeverSeeSeqGoBack(t *testing.T) {
	const events = 3000
	tr := startTracker(t, memory.New(), hourly(4))
	var writers, readers sync.WaitGroup
	var done atomic.Bool

	// "solo" has one writer whose ID encodes the Seq; "duo" has two writers.
	writers.Add(3)
	go func() {
		defer writers.Done()
		for i := 1; i <= events; i++ {
			if _, err := tr.Observe("solo", strconv.Itoa(i)); err != nil {
				t.Errorf("Observe: %v", err)
				return
			}
		}
	}()
	for w := range 2 {
		go func() {
			defer writers.Done()
			for i := range events {
				if _, err := tr.Observe("duo", fmt.Sprintf("w%d-%d", w, i)); err != nil {
					t.Errorf("Observe: %v", err)
					return
				}
			}
		}()
	}
	for range 2 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			var soloLast, duoLast uint64
			for !done.Load() {
				if cp, ok := tr.Checkpoint("solo"); ok {
					if cp.Seq < soloLast {
						t.Errorf("solo seq went back: got %d after %d", cp.Seq, soloLast)
						return
					}
					if cp.EventID != strconv.FormatUint(cp.Seq, 10) {
						t.Errorf("solo checkpoint torn: ID %q with seq %d", cp.EventID, cp.Seq)
						return
					}
					soloLast = cp.Seq
				} else if soloLast > 0 {
					t.Errorf("solo vanished after seq %d", soloLast)
					return
				}
				if cp, ok := tr.Checkpoint("duo"); ok {
					if cp.Seq < duoLast {
						t.Errorf("duo seq went back: got %d after %d", cp.Seq, duoLast)
						return
					}
					duoLast = cp.Seq
				}
				if id, ok := tr.LastEventID("solo"); ok && id == "" {
					t.Error("LastEventID: got empty ID with ok=true")
					return
				}
			}
		}()
	}
	writers.Wait()
	done.Store(true)
	readers.Wait()
	if cp, _ := tr.Checkpoint("solo"); cp.Seq != events {
		t.Fatalf("solo final seq: got %d, want %d", cp.Seq, events)
	}
	if cp, _ := tr.Checkpoint("duo"); cp.Seq != 2*events {
		t.Fatalf("duo final seq: got %d, want %d", cp.Seq, 2*events)
	}
}

func TestZeroConfig(t *testing.T) {
	b := memory.New()
	// Literally the zero Config: every field takes its default (including
	// slog.Default for logs).
	tr, err := shard.New(b, shard.Config{})
	if err != nil {
		t.Fatalf("New with zero Config: %v", err)
	}
	n := tr.Shards()
	if n < 1 || n > shard.MaxShards || n&(n-1) != 0 {
		t.Fatalf("default Shards: got %d, want a power of two in [1, %d]", n, shard.MaxShards)
	}
	if !observe(t, tr, "s", "1") || observe(t, tr, "s", "1") {
		t.Fatal("zero Config: dedup does not work")
	}
	// The default window is core.DefaultWindow.
	for i := range core.DefaultWindow {
		observe(t, tr, "w", strconv.Itoa(i))
	}
	if observe(t, tr, "w", "0") {
		t.Fatalf("default window: ID 0 forgotten after %d IDs, want remembered", core.DefaultWindow)
	}
	observe(t, tr, "w", "new")
	if !observe(t, tr, "w", "0") {
		t.Fatalf("default window: ID 0 remembered after %d IDs, want forgotten", core.DefaultWindow+1)
	}
	flush(t, tr)
	if got, _ := storedOf(t, b, "s"); got.Seq != 1 {
		t.Fatalf("stored with zero Config: got %+v, want seq 1", got)
	}
	if err := tr.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func TestShardsAsConfigured(t *testing.T) {
	for _, n := range []int{1, 2, 16, shard.MaxShards} {
		tr := startTracker(t, memory.New(), shard.Config{Shards: n})
		if got := tr.Shards(); got != n {
			t.Errorf("Shards with Config.Shards=%d: got %d", n, got)
		}
	}
}

// settledGoroutines waits until goroutines left over by earlier tests have
// exited and returns the live count.
func settledGoroutines(t *testing.T) int {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	last, stable := runtime.NumGoroutine(), 0
	for stable < 20 {
		if time.Now().After(deadline) {
			t.Fatalf("goroutine count never settled (last %d)", last)
		}
		time.Sleep(time.Millisecond)
		if n := runtime.NumGoroutine(); n == last {
			stable++
		} else {
			last, stable = n, 0
		}
	}
	return last
}

func goroutinesCreated() uint64 {
	s := []metrics.Sample{{Name: "/sched/goroutines-created:goroutines"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		panic("runtime/metrics: /sched/goroutines-created:goroutines not supported")
	}
	return s[0].Value.Uint64()
}

// TestGoroutinesFlat: New starts exactly Shards goroutines, and no number of
// sessions, events or flushes starts another.
func TestGoroutinesFlat(t *testing.T) {
	const sessions, events = 10_000, 3
	// The GC starts its mark workers lazily on its first cycle; start them
	// now so they are not counted against Observe.
	runtime.GC()
	base := settledGoroutines(t)
	b := memory.New()
	// Default MaxBatch: full batches wake flushers while the loop runs.
	tr := startTracker(t, b, shard.Config{Shards: 8, FlushInterval: time.Hour})
	want := base + tr.Shards()
	if got := runtime.NumGoroutine(); got != want {
		t.Fatalf("goroutines after New: got %d, want %d (%d before + %d shards)", got, want, base, tr.Shards())
	}

	created := goroutinesCreated()
	for e := range events {
		for s := range sessions {
			if _, err := tr.Observe("session-"+strconv.Itoa(s), "e"+strconv.Itoa(e)); err != nil {
				t.Fatalf("Observe: %v", err)
			}
			if s%1000 == 0 {
				if got := runtime.NumGoroutine(); got != want {
					t.Fatalf("goroutines while observing (event %d, session %d): got %d, want %d", e, s, got, want)
				}
			}
		}
	}
	if got := goroutinesCreated() - created; got != 0 {
		t.Fatalf("goroutines created by %d Observes: got %d, want 0", sessions*events, got)
	}

	flush(t, tr)
	if got := runtime.NumGoroutine(); got != want {
		t.Fatalf("goroutines after Flush: got %d, want %d", got, want)
	}
	if got := b.Len(); got != sessions {
		t.Fatalf("stored sessions: got %d, want %d", got, sessions)
	}
	if got := tr.Sessions(); got != sessions {
		t.Fatalf("Sessions: got %d, want %d", got, sessions)
	}
	if err := tr.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
}
