package bench

import (
	"context"
	"io"
	"log/slog"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/lastevent/lastevent/core"
	"github.com/lastevent/lastevent/shard"
)

// Heap budgets per session at the default window, everything the Tracker
// holds for it included: session key, map entry, slot, window and newest
// record with its event ID.
const (
	maxBytesShortSession = 320  // after 4 events
	maxBytesLongSession  = 2048 // after 1000 events
)

// discardBackend stores nothing and reports every checkpoint written, so the
// heap measured is the Tracker's alone: a real backend keeps its copy
// elsewhere (DynamoDB) or in its own budget (memory.Backend).
type discardBackend struct{}

func (discardBackend) Store(_ context.Context, batch []core.Checkpoint, results []core.Result) {
	for i := range batch {
		results[i] = core.Result{Outcome: core.OutcomeWritten}
	}
}

func (discardBackend) Load(context.Context, []string) (map[string]core.Checkpoint, error) {
	return map[string]core.Checkpoint{}, nil
}

func (discardBackend) Delete(context.Context, string) error { return nil }

// bytesPerSession returns the live heap growth per session of a Tracker
// created, then fed events events for each of sessions sessions, then
// flushed. The Tracker's fixed cost (shards, empty maps) is included and
// amortized over the sessions. Event IDs are formatted as they arrive, as a
// server would receive them, so the retained newest ID is counted; the rest
// are garbage before the second measurement.
func bytesPerSession(tb testing.TB, sessions, events int) float64 {
	tb.Helper()
	names := sessionNames(sessions) // the caller's strings; the Tracker clones its keys
	before := liveHeap()
	t, err := shard.New(discardBackend{}, shard.Config{
		FlushInterval: time.Hour,
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		tb.Fatalf("shard.New: %v", err)
	}
	// Events go to sessions round-robin, so each session's state grows
	// interleaved with the others' as it does in a server.
	for e := range events {
		for _, s := range names {
			id := strconv.Itoa(idBase + e)
			if ok, err := t.Observe(s, id); !ok || err != nil {
				tb.Fatalf("Observe(%q, %q): got accepted=%v err=%v, want accepted", s, id, ok, err)
			}
		}
	}
	if err := t.Flush(context.Background()); err != nil {
		tb.Fatalf("Flush: %v", err)
	}
	after := liveHeap()
	if got := t.Sessions(); got != sessions {
		tb.Fatalf("Sessions: got %d, want %d", got, sessions)
	}
	runtime.KeepAlive(t)
	runtime.KeepAlive(names)
	if err := t.Close(context.Background()); err != nil {
		tb.Fatalf("Close: %v", err)
	}
	return float64(int64(after)-int64(before)) / float64(sessions)
}

func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// memoryCases are the sessions measured. At 4 events, 100,000 sessions make
// the Tracker's own cost (shards, empty maps, the flusher's reused buffers) a
// few bytes per session, where the 320 B budget has no room for more. At
// 1000 events, 2,000 sessions (2M Observes) keep the test quick under -race;
// the Tracker's own cost then weighs more per session, so that result errs
// high.
var memoryCases = []struct {
	name             string
	sessions, events int
	limit            float64
}{
	{"events=4", 100_000, 4, maxBytesShortSession},
	{"events=1000", 2_000, 1000, maxBytesLongSession},
}

// TestBytesPerSession holds the Tracker to its memory budget per session.
// It runs under -race too, with the same limits: the race detector keeps its
// shadow memory outside the Go heap and does not change object sizes, so
// HeapAlloc measures the same bytes (checked: equal results with and
// without -race).
func TestBytesPerSession(t *testing.T) {
	for _, c := range memoryCases {
		t.Run(c.name, func(t *testing.T) {
			got := bytesPerSession(t, c.sessions, c.events)
			t.Logf("%.0f B/session (%d sessions, %d events each)", got, c.sessions, c.events)
			if got > c.limit {
				t.Errorf("heap per session after %d events: got %.0f B, want <= %.0f B", c.events, got, c.limit)
			}
		})
	}
}

// BenchmarkBytesPerSession reports the heap per session as B/session. Its
// ns/op is the time to build and measure a whole Tracker, not a per-event
// cost; allocs/op likewise count a whole build.
func BenchmarkBytesPerSession(b *testing.B) {
	for _, c := range memoryCases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			var sum float64
			for b.Loop() {
				sum += bytesPerSession(b, c.sessions, c.events)
			}
			b.ReportMetric(sum/float64(b.N), "B/session")
		})
	}
}
