package relay

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/lastevent/lastevent/sse"
)

// followN runs Follow until handle has seen n events and returns their IDs.
func followN(t *testing.T, cfg FollowConfig, from Position, n int) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got []string
	errDone := errors.New("done")
	err := Follow(ctx, cfg, from, func(e Event) error {
		got = append(got, e.ID)
		if len(got) == n {
			return errDone
		}
		return nil
	})
	if !errors.Is(err, errDone) {
		t.Fatalf("Follow: got %v after %v, want handle's own error", err, got)
	}
	return got
}

func followCfg(t *testing.T, s *scripted, maxOverlap int) FollowConfig {
	return FollowConfig{URL: serveUpstream(t, s), MaxOverlap: maxOverlap, Settle: 50 * time.Millisecond,
		MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond, Logger: quiet()}
}

func TestFollowPositionMatchDropsOverlap(t *testing.T) {
	s := &scripted{serve: func(_ int, w *sse.Writer, r *http.Request) {
		send(w, "a", "b", "c", "d", "e") // asked for after c: a, b, c are the overlap
		wait(r)
	}}
	if got := followN(t, followCfg(t, s, 4), At("c"), 2); !slices.Equal(got, []string{"d", "e"}) {
		t.Fatalf("got %v, want [d e]: the overlap up to the position dropped", got)
	}
}

func TestFollowReleasesWithoutOverlap(t *testing.T) {
	s := &scripted{serve: func(_ int, w *sse.Writer, r *http.Request) {
		send(w, "d", "e", "f") // no overlap: after MaxOverlap events without c, they are new
		wait(r)
	}}
	if got := followN(t, followCfg(t, s, 2), At("c"), 3); !slices.Equal(got, []string{"d", "e", "f"}) {
		t.Fatalf("got %v, want [d e f]", got)
	}
}

func TestFollowSettlesWhenQuiet(t *testing.T) {
	s := &scripted{serve: func(_ int, w *sse.Writer, r *http.Request) {
		send(w, "d") // fewer than MaxOverlap events, then quiet
		wait(r)
	}}
	if got := followN(t, followCfg(t, s, 8), At("c"), 1); !slices.Equal(got, []string{"d"}) {
		t.Fatalf("got %v, want [d] released after the settle time", got)
	}
}

// A connection that ends while events are held discards them; the next one
// asks for the same position, and its overlap is dropped again.
func TestFollowDiscardsHeldOnDisconnect(t *testing.T) {
	s := &scripted{serve: func(conn int, w *sse.Writer, r *http.Request) {
		if conn == 1 {
			send(w, "b") // held (maybe overlap, maybe new), then the stream ends
			return
		}
		send(w, "b", "c", "d")
		wait(r)
	}}
	if got := followN(t, followCfg(t, s, 4), At("c"), 1); !slices.Equal(got, []string{"d"}) {
		t.Fatalf("got %v, want [d]", got)
	}
	if ids := s.lastEventIDs(); !slices.Equal(ids, []string{"c", "c"}) {
		t.Fatalf("Last-Event-IDs sent: %v, want [c c]", ids)
	}
}

// Without MaxOverlap nothing is held, and each reconnect asks for the
// position after the last event handed on.
func TestFollowReconnectsFromLastEvent(t *testing.T) {
	s := &scripted{serve: func(conn int, w *sse.Writer, r *http.Request) {
		switch conn {
		case 1:
			send(w, "a", "b")
		default:
			send(w, "c")
			wait(r)
		}
	}}
	if got := followN(t, followCfg(t, s, 0), Position{}, 3); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("got %v, want [a b c]", got)
	}
	if ids := s.lastEventIDs(); !slices.Equal(ids, []string{"-", "b"}) {
		t.Fatalf("Last-Event-IDs sent: %v, want [- b] (none at the start, then the last one handed on)", ids)
	}
}

func TestFollowStopsOnReject(t *testing.T) {
	url := serveUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "unknown Last-Event-ID", http.StatusBadRequest)
	}))
	var log errorLog
	err := Follow(context.Background(), FollowConfig{URL: url, MinBackoff: time.Millisecond, Logger: quiet(),
		StopOnReject: true, OnError: log.add}, At("zz"), func(Event) error { return nil })
	if !errors.Is(err, ErrRejected) {
		t.Fatalf("got %v, want an error wrapping ErrRejected", err)
	}
	if log.find(KindConnect, ErrRejected) == nil {
		t.Fatalf("OnError got %v, want a KindConnect error wrapping ErrRejected", log.kinds())
	}
}

func TestFollowInvalidConfig(t *testing.T) {
	for _, tc := range []struct {
		cfg  FollowConfig
		want string
	}{
		{FollowConfig{}, "relay: FollowConfig.URL: required"},
		{FollowConfig{URL: "ftp://x"}, `relay: FollowConfig.URL "ftp://x": scheme must be http or https`},
		{FollowConfig{URL: "http://x", MaxOverlap: -1}, "relay: FollowConfig.MaxOverlap -1: must not be negative"},
		{FollowConfig{URL: "http://x", Client: &http.Client{Timeout: time.Second}}, "relay: FollowConfig.Client.Timeout 1s: must be 0, a timeout cuts the long-lived stream"},
	} {
		err := Follow(context.Background(), tc.cfg, Position{}, nil)
		if err == nil || err.Error() != tc.want {
			t.Errorf("Follow(%+v): got %v, want %q", tc.cfg, err, tc.want)
		}
	}
}
