package shard_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lastevent/lastevent/backends/memory"
	"github.com/lastevent/lastevent/core"
	"github.com/lastevent/lastevent/shard"
)

// ids returns "from".."to" as decimal IDs.
func ids(from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, strconv.Itoa(i))
	}
	return out
}

// observeAll observes ids on session and returns how many were accepted.
func observeAll(t *testing.T, tr *shard.Tracker, session string, ids []string) int {
	t.Helper()
	n := 0
	for _, id := range ids {
		if observe(t, tr, session, id) {
			n++
		}
	}
	return n
}

// closeTracker closes tr, failing the test if anything was left unstored.
func closeTracker(t *testing.T, tr *shard.Tracker) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := tr.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// restarted observes ids on session with a first tracker on b, closes it,
// and returns a second one on b with the same cfg: the process restarted.
func restarted(t *testing.T, b core.Backend, cfg shard.Config, session string, ids []string) *shard.Tracker {
	t.Helper()
	first := startTracker(t, b, cfg)
	observeAll(t, first, session, ids)
	closeTracker(t, first)
	return startTracker(t, b, cfg)
}

func resume(t *testing.T, tr *shard.Tracker, session string) core.Checkpoint {
	t.Helper()
	cp, err := tr.Resume(context.Background(), session)
	if err != nil {
		t.Fatalf("Resume(%q): %v", session, err)
	}
	return cp
}

// wantReplaysDropped observes the replay of ids, which the session
// accepted before it left memory: every one must be a duplicate and
// Last-Event-ID must stay last, never moving back in the stream.
func wantReplaysDropped(t *testing.T, tr *shard.Tracker, session string, ids []string, last string) {
	t.Helper()
	for _, id := range ids {
		if observe(t, tr, session, id) {
			t.Fatalf("replay of %q after the session came back: accepted, want a duplicate", id)
		}
		if got, _ := tr.LastEventID(session); got != last {
			t.Fatalf("LastEventID after the replay of %q: got %q, want %q: it moved back in the stream", id, got, last)
		}
	}
}

// TestRestartDropsReplayedOverlap is the restart a relay lives through: the
// upstream, sent Last-Event-ID 10, resends a few events before it. They are
// duplicates, Last-Event-ID stays at 10, and the next new event is Seq 11.
func TestRestartDropsReplayedOverlap(t *testing.T) {
	b := memory.New()
	t2 := restarted(t, b, hourly(4), "s", ids(1, 10))
	if cp := resume(t, t2, "s"); cp.EventID != "10" || cp.Seq != 10 {
		t.Fatalf("Resume after restart: got %+v, want ID 10 seq 10", cp)
	}
	wantReplaysDropped(t, t2, "s", ids(1, 10), "10") // the default keeps 32 IDs
	if !observe(t, t2, "s", "11") {
		t.Fatal("Observe(11), new after the restart: duplicate, want accepted")
	}
	flush(t, t2)
	if got, _ := storedOf(t, b, "s"); got.EventID != "11" || got.Seq != 11 {
		t.Fatalf("stored after the replays and 11: got %+v, want ID 11 seq 11", got)
	}
}

// TestPersistWindowBounds: K IDs survive a restart, the K+1st back does not;
// with persisting off only the stored ID does, which is what a tracker
// before persisted windows did.
func TestPersistWindowBounds(t *testing.T) {
	for _, tc := range []struct {
		persist, kept int
	}{{4, 4}, {1, 1}, {shard.PersistWindowOff, 1}, {128, 40}} {
		t.Run("persist="+strconv.Itoa(tc.persist), func(t *testing.T) {
			b := memory.New()
			cfg := hourly(1)
			cfg.PersistWindow = tc.persist
			t2 := restarted(t, b, cfg, "s", ids(1, 40))
			if stored, _ := b.Get("s"); stored.Window.Len() != min(tc.kept, 40) && tc.persist > 0 {
				t.Fatalf("stored window: got %d hashes, want %d", stored.Window.Len(), tc.kept)
			}
			resume(t, t2, "s")
			wantReplaysDropped(t, t2, "s", ids(41-tc.kept, 40), "40")
			if tc.kept < 40 && !observe(t, t2, "s", strconv.Itoa(40-tc.kept)) {
				t.Fatalf("replay of the ID %d back, beyond the %d persisted: duplicate, want accepted", tc.kept+1, tc.kept)
			}
		})
	}
}

// TestEvictionThenResumeDropsReplays: a session evicted as idle and resumed
// when its client reconnects keeps its last K IDs.
func TestEvictionThenResumeDropsReplays(t *testing.T) {
	b := memory.New()
	clock := &fakeClock{}
	const ttl = time.Minute
	cfg := hourly(2)
	cfg.IdleTTL, cfg.Now = ttl, clock.Now
	tr := startTracker(t, b, cfg)
	observeAll(t, tr, "s", ids(1, 20))
	flush(t, tr)
	clock.Advance(ttl + time.Second)
	flush(t, tr) // the sweep runs after the flush
	if tr.Sessions() != 0 {
		t.Fatalf("sessions after IdleTTL: got %d, want 0 (evicted)", tr.Sessions())
	}
	resume(t, tr, "s")
	wantReplaysDropped(t, tr, "s", ids(1, 20), "20")
}

// TestAnotherProcessDropsReplays: a session that moves to another process
// sharing the backend (after the first flushed it) keeps its window there.
func TestAnotherProcessDropsReplays(t *testing.T) {
	b := memory.New()
	a := startTracker(t, b, hourly(4))
	observeAll(t, a, "s", ids(1, 12))
	flush(t, a)
	other := startTracker(t, b, hourly(4))
	resume(t, other, "s")
	wantReplaysDropped(t, other, "s", ids(1, 12), "12")
	if !observe(t, other, "s", "13") {
		t.Fatal("Observe(13) on the other process: duplicate, want accepted")
	}
	flush(t, other)
	if got, _ := storedOf(t, b, "s"); got.EventID != "13" || got.Seq != 13 {
		t.Fatalf("stored after the move: got %+v, want ID 13 seq 13", got)
	}
}

// TestObserveBeforeResumeMergesWindows: events observed before Resume are
// newer than the stored ones; after Resume, both sets are duplicates and
// none is accepted twice.
func TestObserveBeforeResumeMergesWindows(t *testing.T) {
	b := memory.New()
	t2 := restarted(t, b, hourly(1), "s", ids(1, 10))
	// Observe never does I/O: before Resume it cannot know 9 and 10.
	observeAll(t, t2, "s", []string{"9", "10", "11"})
	cp := resume(t, t2, "s")
	if cp.EventID != "11" || cp.Seq != 13 {
		t.Fatalf("Resume after 3 events observed first: got %+v, want ID 11 seq 13 (renumbered on top of 10)", cp)
	}
	wantReplaysDropped(t, t2, "s", ids(1, 11), "11")
}

// TestFlusherAdoptionMergesWindows: a session observed after a restart
// without Resume takes its stored window at the Load before its first write.
func TestFlusherAdoptionMergesWindows(t *testing.T) {
	b := memory.New()
	t2 := restarted(t, b, hourly(1), "s", ids(1, 10))
	observe(t, t2, "s", "11")
	flush(t, t2) // loads the stored checkpoint before writing 11
	wantReplaysDropped(t, t2, "s", ids(1, 11), "11")
	if got, _ := storedOf(t, b, "s"); got.EventID != "11" || got.Seq != 11 {
		t.Fatalf("stored: got %+v, want ID 11 seq 11", got)
	}
	if stored, _ := b.Get("s"); stored.Window.Len() != 11 {
		t.Fatalf("stored window after the adoption: got %d hashes, want 11 (10 stored + 1 new)", stored.Window.Len())
	}
}

// foreignBackend returns, for every session, a checkpoint whose window is
// not its own, as a store written by something else could.
type foreignBackend struct {
	*memory.Backend
}

func (f foreignBackend) Load(ctx context.Context, sessions []string) (map[string]core.Checkpoint, error) {
	out := make(map[string]core.Checkpoint, len(sessions))
	for _, s := range sessions {
		out[s] = core.Checkpoint{Session: s, EventID: "10", Seq: 10, Window: core.EncodeWindow([]uint64{1, 2})}
	}
	return out, nil
}

// TestForeignWindowRefused: a loaded window that does not end with the
// stored ID's hash fails Resume permanently and changes nothing, and a
// flusher that meets it before a first write reports it and writes nothing.
func TestForeignWindowRefused(t *testing.T) {
	fb := foreignBackend{memory.New()}
	failures := &failureLog{}
	cfg := hourly(1)
	cfg.OnError = failures.record
	tr := startTracker(t, fb, cfg)
	_, err := tr.Resume(context.Background(), "s")
	if !errors.Is(err, core.ErrInvalidWindow) || !errors.Is(err, core.ErrPermanent) {
		t.Fatalf("Resume of a foreign checkpoint: got %v, want ErrInvalidWindow and ErrPermanent", err)
	}
	if n := tr.Sessions(); n != 0 {
		t.Fatalf("sessions after a refused Resume: got %d, want 0", n)
	}
	observe(t, tr, "t", "1")
	if err := flushShort(tr); !errors.Is(err, shard.ErrUnflushed) {
		t.Fatalf("Flush of a session whose stored window is foreign: got %v, want ErrUnflushed", err)
	}
	if got := failures.latest()["t"]; !errors.Is(got.Err, core.ErrInvalidWindow) {
		t.Fatalf("reported failure for t: got %+v, want one wrapping ErrInvalidWindow", got)
	}
	if _, ok := fb.Get("t"); ok {
		t.Fatal("stored t although its stored history could not be adopted")
	}
}

func TestPersistWindowConfig(t *testing.T) {
	_, err := shard.New(memory.New(), shard.Config{Window: 16, PersistWindow: 32})
	if err == nil || !strings.Contains(err.Error(), "Config.PersistWindow 32") || !strings.Contains(err.Error(), "(16)") {
		t.Fatalf("New with PersistWindow over Window: got %v, want an error naming the field and both values", err)
	}
	// The default fits a smaller window.
	tr := startTracker(t, memory.New(), shard.Config{Window: 8, FlushInterval: time.Hour})
	observeAll(t, tr, "s", ids(1, 3))
}

// poisonLoad fails, permanently, every Load that names the session poison,
// as a store holding one foreign value for it would.
type poisonLoad struct {
	*memory.Backend
	poison string
	on     atomic.Bool
}

func (p *poisonLoad) Load(ctx context.Context, sessions []string) (map[string]core.Checkpoint, error) {
	for _, s := range sessions {
		if s == p.poison && p.on.Load() {
			return nil, fmt.Errorf("%w: session %q: %w", core.ErrPermanent, s, core.ErrInvalidWindow)
		}
	}
	return p.Backend.Load(ctx, sessions)
}

// TestOneBadStoredValueHoldsBackOnlyItsSession: when the Load before the
// first writes fails permanently for one session's stored value, the other
// sessions of the same flush still adopt their history and are written.
func TestOneBadStoredValueHoldsBackOnlyItsSession(t *testing.T) {
	mem := memory.New()
	first := startTracker(t, mem, hourly(1))
	for _, s := range []string{"a", "b", "bad"} {
		observe(t, first, s, "1")
	}
	closeTracker(t, first)

	b := &poisonLoad{Backend: mem, poison: "bad"}
	b.on.Store(true)
	tr := startTracker(t, b, hourly(1)) // one shard: one Load for all three
	for _, s := range []string{"a", "b", "bad"} {
		observe(t, tr, s, "2")
	}
	if err := flushShort(tr); !errors.Is(err, shard.ErrUnflushed) {
		t.Fatalf("Flush with one unloadable session: got %v, want ErrUnflushed", err)
	}
	for _, s := range []string{"a", "b"} {
		if got, _ := storedOf(t, b, s); got.Seq != 2 || got.EventID != "2" {
			t.Errorf("stored %s: got %+v, want seq 2 ID 2 (adopted despite another session's bad value)", s, got)
		}
	}
	if got, _ := mem.Get("bad"); got.Seq != 1 {
		t.Errorf("stored bad: got %+v, want its old seq 1 untouched", got)
	}
	b.on.Store(false) // the operator repaired it: Close stores bad too
}
