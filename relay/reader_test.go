package relay

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lastevent/lastevent/backends/memory"
	"github.com/lastevent/lastevent/shard"
	"github.com/lastevent/lastevent/sse"
)

func newTestReader(t *testing.T, url string, tracker *shard.Tracker, onError func(*Error)) *Reader {
	t.Helper()
	r, err := NewReader(ReaderConfig{URL: url, Session: "s", Tracker: tracker, MinBackoff: time.Millisecond,
		MaxBackoff: 10 * time.Millisecond, OnError: onError, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// runN runs r until handle has seen n events and returns their IDs.
func runN(t *testing.T, r *Reader, n int) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got []string
	errDone := errors.New("done")
	err := r.Run(ctx, func(e Event) error {
		got = append(got, e.ID)
		if len(got) == n {
			return errDone
		}
		return nil
	})
	if !errors.Is(err, errDone) {
		t.Fatalf("Run: got %v after %v, want handle's own error", err, got)
	}
	return got
}

// The upstream resends an overlap on its reconnect: the Tracker drops it,
// nothing is held back, and the reconnect asks for the Tracker's
// Last-Event-ID.
func TestReaderDropsReplaysThroughTracker(t *testing.T) {
	s := &scripted{serve: func(conn int, w *sse.Writer, r *http.Request) {
		if conn == 1 {
			send(w, "e1", "e2", "e3")
			return
		}
		send(w, "e2", "e3", "e4")
		wait(r)
	}}
	r := newTestReader(t, serveUpstream(t, s), newTracker(t, memory.New(), shard.Config{}), nil)
	if got := runN(t, r, 4); !slices.Equal(got, ids(1, 4)) {
		t.Fatalf("handed on %v, want [e1 e2 e3 e4]", got)
	}
	if got := s.lastEventIDs(); !slices.Equal(got, []string{"-", "e3"}) {
		t.Fatalf("Last-Event-IDs sent: %v, want [- e3]", got)
	}
	if st := r.Stats(); st.ReplaysDropped != 2 || st.EventsAccepted != 4 || st.Reconnects != 1 {
		t.Fatalf("stats %+v: want 2 replays dropped, 4 accepted, 1 reconnect", st)
	}
}

// After a restart the Tracker resumes the stored checkpoint with its
// window: the first connection asks for it, and the overlap of 8 the
// upstream resends before it is dropped by the Tracker alone. With the
// window not persisted, the same overlap reaches the caller again: that
// is what the persisted window fixes, not anything the reader does.
func TestReaderRestartDropsOverlapByPersistedWindow(t *testing.T) {
	for _, tc := range []struct {
		name          string
		persistWindow int
		want          []string
	}{
		{"window", 0, ids(11, 15)},
		{"PersistWindowOff", shard.PersistWindowOff, append(ids(3, 9), ids(11, 15)...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			backend := memory.New()
			observed(t, backend, shard.Config{PersistWindow: tc.persistWindow}, "s", ids(1, 10))
			tracker := newTracker(t, backend, shard.Config{PersistWindow: tc.persistWindow})
			r := newTestReader(t, serveUpstream(t, logServer(15, 8)), tracker, nil)
			if got := runN(t, r, len(tc.want)); !slices.Equal(got, tc.want) {
				t.Fatalf("handed on %v, want %v", got, tc.want)
			}
		})
	}
}

// The wait before a reconnect is at least the upstream's retry field.
func TestReaderHonoursRetry(t *testing.T) {
	const retry = 300 * time.Millisecond
	s := &scripted{serve: func(conn int, w *sse.Writer, r *http.Request) {
		if conn == 1 {
			_ = w.WriteRetry(retry)
			send(w, "e1")
			return
		}
		send(w, "e2")
		wait(r)
	}}
	r := newTestReader(t, serveUpstream(t, s), newTracker(t, memory.New(), shard.Config{}), nil)
	runN(t, r, 2)
	at := s.arrivals()
	if len(at) != 2 {
		t.Fatalf("%d connections, want 2", len(at))
	}
	if gap := at[1].Sub(at[0]); gap < retry {
		t.Fatalf("reconnected %v after the first connection, want at least the upstream's retry %v", gap, retry)
	}
}

// reconnectDelay: the upstream's retry as a floor, plus full jitter in
// [0, min(max, min·2^failures)), spread over that whole range.
func TestReconnectDelayFullJitter(t *testing.T) {
	const minB, maxB = 10 * time.Millisecond, 200 * time.Millisecond
	for _, retry := range []time.Duration{0, 50 * time.Millisecond} {
		for failures := range 10 {
			ceiling := min(maxB, minB<<failures)
			var top time.Duration
			for range 300 {
				d := reconnectDelay(retry, minB, maxB, failures)
				if d < retry || d >= retry+ceiling {
					t.Fatalf("reconnectDelay(retry %v, failures %d) = %v, want in [%v, %v)", retry, failures, d, retry, retry+ceiling)
				}
				top = max(top, d-retry)
			}
			if top < ceiling/2 { // 300 uniform draws all in the lower half: p = 2^-300
				t.Fatalf("reconnectDelay(retry %v, failures %d): largest jitter of 300 draws %v, want spread over [0, %v)", retry, failures, top, ceiling)
			}
		}
	}
}

// Every failure is reported, by kind, to OnError and the metrics, and the
// reader goes on: a 503, an ID the Tracker refuses (the event is still
// handed on, untracked), a stream that ends.
func TestReaderReportsErrors(t *testing.T) {
	long := strings.Repeat("x", 20)
	s := &scripted{serve: func(conn int, w *sse.Writer, r *http.Request) {
		switch conn { // after the 503 the mux below answers first
		case 1:
			send(w, "e1", long)
		default:
			send(w, "e2")
			wait(r)
		}
	}}
	var log errorLog
	mux := http.NewServeMux()
	first := true
	var mu sync.Mutex
	mux.HandleFunc("/", func(w http.ResponseWriter, req *http.Request) {
		mu.Lock()
		f := first
		first = false
		mu.Unlock()
		if f {
			http.Error(w, "try later", http.StatusServiceUnavailable)
			return
		}
		s.ServeHTTP(w, req)
	})
	tracker := newTracker(t, memory.New(), shard.Config{MaxEventIDBytes: 8})
	r := newTestReader(t, serveUpstream(t, mux), tracker, log.add)
	if got := runN(t, r, 3); !slices.Equal(got, []string{"e1", long, "e2"}) {
		t.Fatalf("handed on %v, want [e1 %s e2]: a refused ID is relayed untracked", got, long)
	}
	want := map[ErrorKind]int{KindConnect: 1, KindEventID: 1, KindStream: 1}
	if got := log.kinds(); !maps(got, want) {
		t.Fatalf("OnError got %v, want %v", got, want)
	}
	if e := log.find(KindConnect, nil); e.Session != "s" || !strings.Contains(e.Error(), "503") {
		t.Fatalf("connect error %q: want it to name session s and the 503", e)
	}
	var buf bytes.Buffer
	r.Metrics().WritePrometheus(&buf)
	for _, line := range []string{
		`lastevent_relay_errors_total{kind="connect"} 1`,
		`lastevent_relay_errors_total{kind="event_id"} 1`,
		`lastevent_relay_errors_total{kind="stream"} 1`,
		`lastevent_relay_events_untracked_total 1`,
		`lastevent_relay_events_accepted_total 2`,
		`lastevent_relay_upstream_reconnects_total 2`,
	} {
		if !strings.Contains(buf.String(), line+"\n") {
			t.Errorf("metrics lack %q:\n%s", line, buf.String())
		}
	}
}

func maps(a, b map[ErrorKind]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// A Tracker closed under a running reader ends Run with ErrClosed,
// reported as a tracker error.
func TestReaderStopsWhenTrackerCloses(t *testing.T) {
	tracker, err := shard.New(memory.New(), shard.Config{Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	s := &scripted{serve: func(_ int, w *sse.Writer, r *http.Request) {
		send(w, "e1")
		select {
		case <-release:
			send(w, "e2")
		case <-r.Context().Done():
		}
		wait(r)
	}}
	var log errorLog
	r := newTestReader(t, serveUpstream(t, s), tracker, log.add)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = r.Run(ctx, func(e Event) error {
		if e.ID == "e1" {
			_ = tracker.Close(ctx)
			close(release)
		}
		return nil
	})
	if !errors.Is(err, shard.ErrClosed) {
		t.Fatalf("Run: got %v, want an error wrapping shard.ErrClosed", err)
	}
	if log.find(KindTracker, shard.ErrClosed) == nil {
		t.Fatalf("OnError got %v, want a KindTracker error wrapping shard.ErrClosed", log.kinds())
	}
}

// Cancelling ctx ends Run with ctx's error, also while it waits to
// reconnect; goleak (TestMain) checks nothing is left running.
func TestReaderStopsOnContext(t *testing.T) {
	url := serveUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "down", http.StatusBadGateway)
	}))
	r, err := NewReader(ReaderConfig{URL: url, Session: "s", Tracker: newTracker(t, memory.New(), shard.Config{}),
		MinBackoff: time.Hour, MaxBackoff: time.Hour, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, func(Event) error { return nil }) }()
	eventually(t, "the first connection fails", func() bool { return r.Stats().Errors[KindConnect] == 1 })
	cancel() // while waiting up to an hour to reconnect
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run after cancel: got %v, want context.Canceled", err)
	}
}

// A second Run of one Reader while the first runs is refused: two readers
// of a session would observe its events twice over.
func TestReaderRunsOnce(t *testing.T) {
	s := &scripted{serve: func(_ int, _ *sse.Writer, r *http.Request) { wait(r) }}
	r := newTestReader(t, serveUpstream(t, s), newTracker(t, memory.New(), shard.Config{}), nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, func(Event) error { return nil }) }()
	eventually(t, "the first Run connects", func() bool { return r.Stats().Connected == 1 })
	if err := r.Run(ctx, func(Event) error { return nil }); !errors.Is(err, ErrRunning) {
		t.Fatalf("second Run: got %v, want ErrRunning", err)
	}
	cancel()
	<-done
}

// A duplicate is dropped without allocating: its ID is observed as the
// decoder's bytes, and nothing is copied.
func TestReaderDuplicateAllocatesNothing(t *testing.T) {
	tracker := newTracker(t, memory.New(), shard.Config{})
	r := newTestReader(t, "http://127.0.0.1:1/", tracker, nil)
	if _, err := tracker.Observe("s", "e1"); err != nil {
		t.Fatal(err)
	}
	ev := sse.Event{ID: []byte("e1"), Data: []byte("data"), HasID: true}
	handle := func(Event) error { t.Fatal("a duplicate was handed on"); return nil }
	if n := testing.AllocsPerRun(100, func() { _ = r.observe(ev, handle) }); n != 0 {
		t.Fatalf("a duplicate: %v allocations, want 0", n)
	}
}

func TestReaderInvalidConfig(t *testing.T) {
	tracker := newTracker(t, memory.New(), shard.Config{})
	for _, tc := range []struct {
		cfg  ReaderConfig
		want string
	}{
		{ReaderConfig{Session: "s", Tracker: tracker}, "relay: ReaderConfig.URL: required"},
		{ReaderConfig{URL: "http://x", Session: "s"}, "relay: ReaderConfig.Tracker: required"},
		{ReaderConfig{URL: "http://x", Tracker: tracker}, `relay: ReaderConfig.Session "": lastevent: empty session`},
		{ReaderConfig{URL: "http://x", Session: "s", Tracker: tracker, MinBackoff: time.Second, MaxBackoff: time.Millisecond},
			"relay: ReaderConfig.MaxBackoff 1ms: must be at least MinBackoff (1s)"},
		{ReaderConfig{URL: "http://x", Session: "s", Tracker: tracker, MetricsLabels: map[string]string{"kind": "x"}},
			`relay: ReaderConfig.MetricsLabels: label name "kind": must match [a-zA-Z_][a-zA-Z0-9_]*, not start with __, and not be kind`},
	} {
		if _, err := NewReader(tc.cfg); err == nil || err.Error() != tc.want {
			t.Errorf("NewReader: got %v, want %q", err, tc.want)
		}
	}
}
