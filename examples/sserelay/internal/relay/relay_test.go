package relay

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/lastevent/lastevent/backends/memory"
	"github.com/lastevent/lastevent/core"
	"github.com/lastevent/lastevent/shard"
	"github.com/lastevent/lastevent/sse"
)

// logServer serves the fixed events "e1".."en" and, asked for after eK,
// resends eK-overlap+1..eK first (an at-least-once upstream), then waits.
func logServer(n, overlap int) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		next := 1
		if id, ok := sse.LastEventID(r); ok {
			k, err := strconv.Atoi(id[1:])
			if err != nil || k < 1 || k > n {
				http.Error(rw, "unknown id", http.StatusBadRequest)
				return
			}
			next = max(1, k+1-overlap)
		}
		w, err := sse.Upgrade(rw)
		if err != nil {
			return
		}
		for i := next; i <= n; i++ {
			send(w, fmt.Sprint("e", i))
		}
		<-r.Context().Done()
	})
}

// startRelay runs a Relay for session on a new Tracker over backend,
// reading upstream, until the test ends, and returns it, its Tracker and
// the URL of its downstream handler.
func startRelay(t *testing.T, backend core.Backend, upstream http.Handler, session string, overlap, buffer int) (*Relay, *shard.Tracker, string) {
	t.Helper()
	ctx := context.Background()
	up := httptest.NewServer(upstream)
	t.Cleanup(up.Close)
	tracker, err := shard.New(backend, shard.Config{Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tracker.Close(ctx) })
	src := &Source{URL: up.URL, MaxOverlap: overlap, Settle: 50 * time.Millisecond, MinBackoff: time.Millisecond, Logger: quiet()}
	r, err := New(ctx, Config{Source: src, Session: session, Tracker: tracker, Buffer: buffer, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- r.Run(runCtx) }()
	t.Cleanup(func() {
		stop()
		<-done
	})
	down := httptest.NewServer(r.Handler())
	t.Cleanup(down.Close)
	return r, tracker, down.URL
}

func ids(from, to int) []string {
	var s []string
	for i := from; i <= to; i++ {
		s = append(s, fmt.Sprint("e", i))
	}
	return s
}

// readIDs reads n events from the relay as a client with lastEventID ("" for
// none) and returns their IDs.
func readIDs(t *testing.T, url, lastEventID string, n int) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	dec := sse.NewDecoder(resp.Body)
	var got []string
	for len(got) < n {
		e, err := dec.Next()
		if err != nil {
			t.Fatalf("client at %q: after %v: %v", lastEventID, got, err)
		}
		got = append(got, string(e.ID))
	}
	return got
}

// A relay restarted with a stored checkpoint at e10 serves clients behind
// it (from a catch-up stream that meets the buffer), ahead of it (the buffer
// reaches them) and without a Last-Event-ID (the whole stream), each
// exactly once and in order; the upstream's overlap before e10 is dropped.
func TestRelayResumesAndServesEveryPosition(t *testing.T) {
	const n, overlap, session = 30, 3, "upstream"
	ctx := context.Background()
	backend := memory.New()
	before, err := shard.New(backend, shard.Config{Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids(1, 10) {
		if _, err := before.Observe(session, id); err != nil {
			t.Fatal(err)
		}
	}
	if err := before.Close(ctx); err != nil {
		t.Fatal(err)
	}

	r, tracker, downURL := startRelay(t, backend, logServer(n, overlap), session, overlap, 64)

	for _, tc := range []struct {
		last string
		want []string
	}{
		{"e5", ids(6, n)},   // behind the checkpoint
		{"e10", ids(11, n)}, // at the checkpoint: the buffer's base
		{"e20", ids(21, n)}, // ahead of what the relay re-read at first
		{"", ids(1, n)},     // no Last-Event-ID: the whole stream
	} {
		if got := readIDs(t, downURL, tc.last, len(tc.want)); !slices.Equal(got, tc.want) {
			t.Errorf("client at %q: got %v, want %v", tc.last, got, tc.want)
		}
	}
	if id, _ := tracker.LastEventID(session); id != fmt.Sprint("e", n) {
		t.Fatalf("tracker's last event ID %q, want e%d", id, n)
	}
	if forwarded, _ := r.Stats(); forwarded != n-10 {
		t.Fatalf("relay forwarded %d upstream events after the checkpoint, want %d (the overlap before it dropped)", forwarded, n-10)
	}
}

// A client slower than the buffer falls behind it and is caught up from
// the upstream, again without a repeat or a gap.
func TestRelayClientFallsBehindBuffer(t *testing.T) {
	const n = 40
	_, tracker, downURL := startRelay(t, memory.New(), logServer(n, 2), "s", 2, 4)
	// Let the relay read everything, so that e1 has left the 4-event
	// buffer before the client asks for the whole stream.
	for deadline := time.Now().Add(10 * time.Second); ; {
		if id, _ := tracker.LastEventID("s"); id == fmt.Sprint("e", n) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the relay did not read the upstream's events within 10s")
		}
		time.Sleep(time.Millisecond) // polling in the test; the relay never sleeps
	}
	if got := readIDs(t, downURL, "", n); !slices.Equal(got, ids(1, n)) {
		t.Fatalf("got %v, want e1..e%d", got, n)
	}
}
