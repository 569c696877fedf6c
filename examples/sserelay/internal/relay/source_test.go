package relay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lastevent/lastevent/sse"
)

// scripted is an upstream whose answer to each connection is a function
// of the connection's number and Last-Event-ID.
type scripted struct {
	mu    sync.Mutex
	conns []string // Last-Event-ID of each connection ("-" when absent)
	serve func(conn int, w *sse.Writer, r *http.Request)
}

func (s *scripted) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	id, ok := sse.LastEventID(r)
	if !ok {
		id = "-"
	}
	s.conns = append(s.conns, id)
	conn := len(s.conns)
	s.mu.Unlock()
	w, err := sse.Upgrade(rw)
	if err != nil {
		return
	}
	s.serve(conn, w, r)
}

func (s *scripted) lastEventIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.conns)
}

func send(w *sse.Writer, ids ...string) {
	for _, id := range ids {
		_ = w.WriteEvent(sse.Event{ID: []byte(id), Data: []byte("d" + id)})
	}
}

// follow runs Follow until handle has seen n events and returns their IDs.
func follow(t *testing.T, src *Source, opts FollowOptions, n int) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got []string
	errDone := errors.New("done")
	err := src.Follow(ctx, opts, func(e Event) error {
		got = append(got, string(e.ID))
		if len(got) == n {
			return errDone
		}
		return nil
	})
	if !errors.Is(err, errDone) {
		t.Fatalf("Follow: %v after %v", err, got)
	}
	return got
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newSource(t *testing.T, s *scripted, maxOverlap int) *Source {
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return &Source{URL: srv.URL, MaxOverlap: maxOverlap, Settle: 50 * time.Millisecond,
		MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond, Logger: quiet()}
}

// wait blocks until the request ends (the test is done with it).
func wait(r *http.Request) { <-r.Context().Done() }

func TestAnchorDropsOverlap(t *testing.T) {
	s := &scripted{serve: func(_ int, w *sse.Writer, r *http.Request) {
		send(w, "a", "b", "c", "d", "e") // asked for after c: a, b, c are the overlap
		wait(r)
	}}
	got := follow(t, newSource(t, s, 4), FollowOptions{Start: at("c"), Anchor: AnchorEvery}, 2)
	if !slices.Equal(got, []string{"d", "e"}) {
		t.Fatalf("got %v, want [d e]", got)
	}
}

func TestAnchorReleasesWithoutOverlap(t *testing.T) {
	s := &scripted{serve: func(_ int, w *sse.Writer, r *http.Request) {
		send(w, "d", "e", "f") // no overlap: after MaxOverlap events without c, they are new
		wait(r)
	}}
	got := follow(t, newSource(t, s, 2), FollowOptions{Start: at("c"), Anchor: AnchorEvery}, 3)
	if !slices.Equal(got, []string{"d", "e", "f"}) {
		t.Fatalf("got %v, want [d e f]", got)
	}
}

func TestAnchorSettlesWhenQuiet(t *testing.T) {
	s := &scripted{serve: func(_ int, w *sse.Writer, r *http.Request) {
		send(w, "d") // fewer than MaxOverlap events, then quiet
		wait(r)
	}}
	start := time.Now()
	got := follow(t, newSource(t, s, 8), FollowOptions{Start: at("c"), Anchor: AnchorEvery}, 1)
	if !slices.Equal(got, []string{"d"}) {
		t.Fatalf("got %v, want [d]", got)
	}
	if waited := time.Since(start); waited < 50*time.Millisecond {
		t.Fatalf("released after %v, before the 50ms settle time", waited)
	}
}

// A connection that ends while events are held discards them; the next one
// asks for the same position, and its overlap is dropped again.
func TestAnchorDiscardsHeldOnDisconnect(t *testing.T) {
	s := &scripted{serve: func(conn int, w *sse.Writer, r *http.Request) {
		if conn == 1 {
			send(w, "b") // held (maybe overlap, maybe new), then the stream ends
			return
		}
		send(w, "b", "c", "d")
		wait(r)
	}}
	got := follow(t, newSource(t, s, 4), FollowOptions{Start: at("c"), Anchor: AnchorEvery}, 1)
	if !slices.Equal(got, []string{"d"}) {
		t.Fatalf("got %v, want [d]", got)
	}
	if ids := s.lastEventIDs(); !slices.Equal(ids, []string{"c", "c"}) {
		t.Fatalf("Last-Event-IDs sent: %v, want [c c]", ids)
	}
}

// AnchorOnce anchors until a connection resolved the anchor and MaxOverlap
// (4) events followed it: a reconnect before that is anchored again, since
// its overlap may reach back before the first anchor; after it, the overlap
// is the caller's to drop. Position chooses each reconnect's Last-Event-ID.
func TestAnchorOnceAndPosition(t *testing.T) {
	s := &scripted{serve: func(conn int, w *sse.Writer, r *http.Request) {
		switch conn {
		case 1:
			send(w, "c", "d") // overlap c, then d; then the stream ends
		case 2:
			send(w, "d", "e", "f", "g", "h") // 1 event since the anchor: anchored at d again
		default:
			send(w, "h", "i") // 5 since: not anchored, h is the caller's to drop
			wait(r)
		}
	}}
	var reconnects atomic.Int32
	got := follow(t, newSource(t, s, 4), FollowOptions{
		Start: at("c"), Anchor: AnchorOnce,
		Position: func() Position {
			if reconnects.Add(1) == 1 {
				return at("d")
			}
			return at("h")
		},
	}, 7)
	if want := []string{"d", "e", "f", "g", "h", "h", "i"}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if ids := s.lastEventIDs(); !slices.Equal(ids, []string{"c", "d", "h"}) {
		t.Fatalf("Last-Event-IDs sent: %v, want [c d h]", ids)
	}
}

func TestFollowStopsOnReject(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "unknown Last-Event-ID", http.StatusBadRequest)
	}))
	defer srv.Close()
	src := &Source{URL: srv.URL, MinBackoff: time.Millisecond, Logger: quiet()}
	err := src.Follow(context.Background(), FollowOptions{Start: at("zz"), StopOnReject: true}, func(Event) error { return nil })
	if !errors.Is(err, ErrRejected) {
		t.Fatalf("got %v, want ErrRejected", err)
	}
}

func TestBackoff(t *testing.T) {
	src := &Source{MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Second}
	for _, tc := range []struct {
		retry    time.Duration
		failures int
		want     time.Duration
	}{
		{0, 0, 100 * time.Millisecond},
		{0, 1, 100 * time.Millisecond},
		{0, 3, 400 * time.Millisecond},
		{0, 30, time.Second},
		{50 * time.Millisecond, 1, 50 * time.Millisecond}, // the upstream's retry replaces MinBackoff
		{3 * time.Second, 5, 3 * time.Second},             // and may exceed MaxBackoff
	} {
		got := src.backoff(tc.retry, tc.failures)
		if lo, hi := time.Duration(float64(tc.want)*0.8), time.Duration(float64(tc.want)*1.2); got < lo || got > hi {
			t.Errorf("backoff(retry %v, failures %d) = %v, want %v ±20%%", tc.retry, tc.failures, got, tc.want)
		}
	}
}

func ExampleSource_Follow() {
	srv := httptest.NewServer(&scripted{serve: func(_ int, w *sse.Writer, r *http.Request) {
		send(w, "2", "3", "4") // asked for after 3, the upstream resends 2 and 3
		wait(r)
	}})
	defer srv.Close()
	src := &Source{URL: srv.URL, MaxOverlap: 4, Logger: quiet()}
	ctx, cancel := context.WithCancel(context.Background())
	_ = src.Follow(ctx, FollowOptions{Start: Position{ID: "3", Set: true}, Anchor: AnchorEvery}, func(e Event) error {
		fmt.Printf("%s: %s\n", e.ID, e.Data)
		cancel()
		return nil
	})
	// Output: 4: d4
}
