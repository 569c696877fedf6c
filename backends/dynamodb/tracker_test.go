package dynamodb_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	lastdynamo "github.com/lastevent/lastevent/backends/dynamodb"
	"github.com/lastevent/lastevent/core"
	"github.com/lastevent/lastevent/internal/testmodel"
	"github.com/lastevent/lastevent/shard"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func newTracker(t testing.TB, b core.Backend, cfg shard.Config) *shard.Tracker {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quiet
	}
	if cfg.Shards == 0 {
		cfg.Shards = 4
	}
	tr, err := shard.New(b, cfg)
	if err != nil {
		t.Fatalf("shard.New: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = tr.Close(ctx)
	})
	return tr
}

// Two trackers (as two processes would run) share one table and the same
// sessions and observe concurrently. Every read of the table after a flush
// shows no session going backwards and at least what that flush covered;
// at the end every session holds the newest checkpoint of either tracker.
func TestTwoTrackersShareOneTable(t *testing.T) {
	client := newClient(t)
	cfg := newTable(t, client, lastdynamo.Config{MaxInFlight: 8})
	const sessionsN, rounds = 12, 8
	names := sessions("shared", sessionsN)
	trackers := [2]*shard.Tracker{}
	for i := range trackers {
		trackers[i] = newTracker(t, newBackend(t, client, cfg), shard.Config{FlushInterval: 5 * time.Millisecond})
	}
	var stale [2]atomic.Int64
	var wg sync.WaitGroup
	for w, tr := range trackers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := ctxT(t)
			seen := map[string]uint64{} // this reader's last reading
			for r := range rounds {
				for s, name := range names {
					// Different paces, so each tracker is ahead on some sessions.
					for k := range 1 + (w+s+r)%3 {
						if _, err := tr.Observe(name, fmt.Sprintf("t%d-r%d-k%d", w, r, k)); err != nil {
							t.Errorf("Observe(%s): %v", name, err)
							return
						}
					}
				}
				covered := map[string]uint64{}
				for _, name := range names {
					c, _ := tr.Checkpoint(name)
					covered[name] = c.Seq
				}
				if err := tr.Flush(ctx); err != nil {
					t.Errorf("tracker %d Flush: %v", w, err)
					return
				}
				table := scanTable(t, client, cfg.Table)
				for _, name := range names {
					got := table[name].Seq
					if got < seen[name] {
						t.Errorf("tracker %d round %d: %s went back from seq %d to %d", w, r, name, seen[name], got)
					}
					if got < covered[name] {
						t.Errorf("tracker %d round %d: %s stored seq %d after Flush, want at least %d", w, r, name, got, covered[name])
					}
					if got > covered[name] {
						stale[w].Add(1) // the other tracker is ahead here
					}
					seen[name] = got
				}
			}
		}()
	}
	wg.Wait()
	ctx := ctxT(t)
	for _, tr := range trackers {
		if err := tr.Flush(ctx); err != nil {
			t.Fatalf("final Flush: %v", err)
		}
	}
	table := scanTable(t, client, cfg.Table)
	for _, name := range names {
		a, _ := trackers[0].Checkpoint(name)
		b, _ := trackers[1].Checkpoint(name)
		want := max(a.Seq, b.Seq)
		got := table[name]
		if got.Seq != want {
			t.Errorf("%s: stored seq %d, want the newest of both trackers, %d (a %d, b %d)", name, got.Seq, want, a.Seq, b.Seq)
		}
		if err := got.CheckWindow(); err != nil || got.Window == "" {
			t.Errorf("%s: stored window %v (%v), want one ending with the stored event's hash", name, got.Window, err)
		}
		if (a.Seq == want && got.EventID == a.EventID) || (b.Seq == want && got.EventID == b.EventID) {
			continue
		}
		t.Errorf("%s: stored event %q, want the one of the tracker holding seq %d (%q or %q)", name, got.EventID, want, a.EventID, b.EventID)
	}
	if stale[0].Load()+stale[1].Load() == 0 {
		t.Error("no tracker ever found the other ahead: the test did not exercise stale writes")
	}
}

func TestResumeAfterRestart(t *testing.T) {
	client := newClient(t)
	cfg := newTable(t, client, lastdynamo.Config{})
	ctx := ctxT(t)
	first := newTracker(t, newBackend(t, client, cfg), shard.Config{})
	for _, s := range []string{"a", "b", "c"} {
		for i := 1; i <= 5; i++ {
			if _, err := first.Observe(s, fmt.Sprintf("%s-%d", s, i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := first.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}

	second := newTracker(t, newBackend(t, client, cfg), shard.Config{})
	for _, s := range []string{"a", "b", "c"} {
		got, err := second.Resume(ctx, s)
		if err != nil {
			t.Fatalf("Resume(%s): %v", s, err)
		}
		if want := cp(s, s+"-5", 5); got != want {
			t.Fatalf("Resume(%s): got %+v, want %+v", s, got, want)
		}
		if id, ok := second.LastEventID(s); !ok || id != s+"-5" {
			t.Fatalf("LastEventID(%s) after Resume: got (%q, %v), want %s-5", s, id, ok, s)
		}
	}
	if acc, err := second.Observe("a", "a-6"); err != nil || !acc {
		t.Fatalf("Observe(a-6): got (%v, %v), want accepted", acc, err)
	}
	if c, _ := second.Checkpoint("a"); c.Seq != 6 {
		t.Fatalf("Seq after resume and one event: got %d, want 6", c.Seq)
	}
	if got, _ := second.Resume(ctx, "never"); got.Seq != 0 {
		t.Fatalf("Resume of an unknown session: got %+v, want seq 0", got)
	}
	if err := second.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// The second run resumed a-1..a-5 from the stored window and added a-6.
	want := cp("a", "a-6", 6)
	want.Window = windowOf("a-1", "a-2", "a-3", "a-4", "a-5", "a-6")
	if got, _ := rawCheckpoint(t, client, cfg.Table, "a"); got != want {
		t.Fatalf("stored after the second run: got %+v, want a-6 at seq 6 with the window of a-1..a-6", got)
	}
}

// windowOf is the window a tracker persists after accepting ids, oldest
// first.
func windowOf(ids ...string) core.Window { return testmodel.WindowOf(ids) }

// The window a tracker persists reaches another tracker through the table:
// after a restart, a replay of any of the last shard.Config.PersistWindow
// IDs is a duplicate and Last-Event-ID does not move back, while an ID
// older than that is new. Both modes carry it.
func TestWindowSurvivesRestart(t *testing.T) {
	const events, persist = 40, core.DefaultPersistWindow
	for _, mode := range []lastdynamo.Mode{lastdynamo.Conditional, lastdynamo.Batch} {
		t.Run(mode.String(), func(t *testing.T) {
			client := newClient(t)
			cfg := newTable(t, client, lastdynamo.Config{Mode: mode})
			ctx := ctxT(t)
			ids := make([]string, events)
			first := newTracker(t, newBackend(t, client, cfg), shard.Config{})
			for i := range ids {
				ids[i] = fmt.Sprintf("ev-%d", i+1)
				if _, err := first.Observe("s", ids[i]); err != nil {
					t.Fatal(err)
				}
			}
			if err := first.Close(ctx); err != nil {
				t.Fatalf("Close: %v", err)
			}
			want := cp("s", ids[events-1], events)
			want.Window = windowOf(ids[events-persist:]...)
			if got, _ := rawCheckpoint(t, client, cfg.Table, "s"); got != want {
				t.Fatalf("stored: got %+v, want seq %d with the window of the last %d IDs", got, events, persist)
			}

			second := newTracker(t, newBackend(t, client, cfg), shard.Config{})
			if _, err := second.Resume(ctx, "s"); err != nil {
				t.Fatalf("Resume: %v", err)
			}
			for back := 1; back <= persist; back++ {
				id := ids[events-back]
				if acc, err := second.Observe("s", id); err != nil || acc {
					t.Fatalf("replay of %s (%d back) after restart: got (%v, %v), want a duplicate", id, back, acc, err)
				}
			}
			if id, _ := second.LastEventID("s"); id != ids[events-1] {
				t.Fatalf("LastEventID after replays: got %q, want %q", id, ids[events-1])
			}
			older := ids[events-persist-1]
			if acc, err := second.Observe("s", older); err != nil || !acc {
				t.Fatalf("replay of %s (%d back, beyond the persisted window): got (%v, %v), want accepted", older, persist+1, acc, err)
			}
		})
	}
}

// failures collects a tracker's WriteFailures.
type failures struct {
	mu  sync.Mutex
	all []shard.WriteFailure
}

func (f *failures) add(w shard.WriteFailure) { f.mu.Lock(); f.all = append(f.all, w); f.mu.Unlock() }
func (f *failures) get() []shard.WriteFailure {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]shard.WriteFailure(nil), f.all...)
}

func TestTrackerRetriesThrottledWrites(t *testing.T) {
	client := newClient(t)
	cfg := newTable(t, client, lastdynamo.Config{})
	var sent atomic.Int32
	// The recommended split: the SDK makes one attempt, the tracker retries
	// with its own backoff, so each throttled attempt costs one request.
	throttled := newClient(t, func(o *dynamodb.Options) {
		o.HTTPClient = &http.Client{Transport: throttleTransport{sent: &sent, first: 3}}
		o.RetryMaxAttempts = 1
	})
	var fs failures
	tr := newTracker(t, newBackend(t, throttled, cfg), shard.Config{Shards: 1, FlushInterval: 10 * time.Millisecond, OnError: fs.add,
		RetryBaseDelay: time.Millisecond, RetryMaxDelay: 20 * time.Millisecond, BreakerThreshold: -1})
	if _, err := tr.Observe("s", "e1"); err != nil {
		t.Fatal(err)
	}
	if err := tr.Flush(ctxT(t)); err != nil {
		t.Fatalf("Flush through 3 throttles: %v", err)
	}
	got := fs.get()
	if len(got) != 3 {
		t.Fatalf("write failures: got %d (%v), want 3", len(got), got)
	}
	for i, w := range got {
		var e *lastdynamo.Error
		if w.Session != "s" || w.Seq != 1 || w.Attempt != i+1 || !core.IsRetryable(w.Err) || !errors.As(w.Err, &e) ||
			e.Code != "ProvisionedThroughputExceededException" {
			t.Errorf("failure %d: got %+v, want session s seq 1 attempt %d, retryable throttle", i, w, i+1)
		}
	}
	// 3 throttled requests, then the write (and the tracker's load of the
	// stored checkpoint, if it makes one first): one request per attempt.
	if n := sent.Load(); n < 4 || n > 5 {
		t.Errorf("requests: got %d, want 4 or 5 (3 throttled, then a load and a write; no retries multiplied)", n)
	}
	want := cp("s", "e1", 1)
	want.Window = windowOf("e1")
	if c, ok := rawCheckpoint(t, client, cfg.Table, "s"); !ok || c != want {
		t.Fatalf("stored: got (%+v, %v), want e1 at seq 1 with its window", c, ok)
	}
}

func TestTrackerKeepsPermanentFailuresUntilFixed(t *testing.T) {
	client := newClient(t)
	cfg := lastdynamo.Config{Table: tableName(t)} // not created yet
	var fs failures
	tr := newTracker(t, newBackend(t, client, cfg), shard.Config{Shards: 1, FlushInterval: 10 * time.Millisecond, OnError: fs.add,
		RetryBaseDelay: time.Millisecond, RetryMaxDelay: 20 * time.Millisecond, BreakerThreshold: -1})
	if _, err := tr.Observe("s", "e1"); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := tr.Flush(short); !errors.Is(err, shard.ErrUnflushed) {
		t.Fatalf("Flush to a missing table: got %v, want ErrUnflushed", err)
	}
	got := fs.get()
	if len(got) == 0 {
		t.Fatal("no write failure reported for a missing table")
	}
	var rnf *types.ResourceNotFoundException
	if w := got[0]; w.Session != "s" || w.Seq != 1 || core.IsRetryable(w.Err) || !errors.As(w.Err, &rnf) {
		t.Fatalf("first failure: got %+v, want a permanent ResourceNotFoundException for s seq 1", w)
	}
	newTable(t, client, cfg)
	if err := tr.Flush(ctxT(t)); err != nil {
		t.Fatalf("Flush after the table exists: %v", err)
	}
	if c, ok := rawCheckpoint(t, client, cfg.Table, "s"); !ok || c.Seq != 1 {
		t.Fatalf("stored: got (%+v, %v), want seq 1", c, ok)
	}
}
