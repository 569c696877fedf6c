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
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/lastevent/lastevent/backends/memory"
	"github.com/lastevent/lastevent/core"
	"github.com/lastevent/lastevent/shard"
	"github.com/lastevent/lastevent/sse"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// scripted is an upstream whose answer to each connection is a function
// of the connection's number (from 1) and its Last-Event-ID.
type scripted struct {
	mu    sync.Mutex
	conns []string    // Last-Event-ID of each connection ("-" when absent)
	times []time.Time // when each connection arrived
	serve func(conn int, w *sse.Writer, r *http.Request)
}

func (s *scripted) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	id, ok := sse.LastEventID(r)
	if !ok {
		id = "-"
	}
	s.conns = append(s.conns, id)
	s.times = append(s.times, time.Now())
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

func (s *scripted) arrivals() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.times)
}

func send(w *sse.Writer, ids ...string) {
	for _, id := range ids {
		_ = w.WriteEvent(sse.Event{ID: []byte(id), Data: []byte("d" + id)})
	}
}

// wait blocks until the request ends (the test is done with it).
func wait(r *http.Request) { <-r.Context().Done() }

func serveUpstream(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

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

func ids(from, to int) []string {
	var s []string
	for i := from; i <= to; i++ {
		s = append(s, fmt.Sprint("e", i))
	}
	return s
}

func newTracker(t *testing.T, backend core.Backend, cfg shard.Config) *shard.Tracker {
	t.Helper()
	cfg.Logger = quiet()
	tr, err := shard.New(backend, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close(context.Background()) })
	return tr
}

// observed stores ids as session's accepted history in backend, as a
// relay that ran before with a Tracker configured by cfg would have.
func observed(t *testing.T, backend core.Backend, cfg shard.Config, session string, ids []string) {
	t.Helper()
	cfg.Logger = quiet()
	tr, err := shard.New(backend, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if _, err := tr.Observe(session, id); err != nil {
			t.Fatal(err)
		}
	}
	if err := tr.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// startRelay runs a Relay with cfg (Tracker defaults to a new one on a
// memory backend, Session to "s") until the test ends, serves it, and
// returns it and its URL.
func startRelay(t *testing.T, cfg Config) (*Relay, string) {
	t.Helper()
	if cfg.Tracker == nil {
		cfg.Tracker = newTracker(t, memory.New(), shard.Config{})
	}
	if cfg.Session == "" {
		cfg.Session = "s"
	}
	if cfg.Logger == nil {
		cfg.Logger = quiet()
	}
	if cfg.MinBackoff == 0 {
		cfg.MinBackoff = time.Millisecond
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = 10 * time.Millisecond
	}
	if cfg.Settle == 0 {
		cfg.Settle = 50 * time.Millisecond
	}
	r, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	down := httptest.NewServer(r)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := r.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
		down.Close()
	})
	return r, down.URL
}

// stream is a client connection to a relay.
type stream struct {
	resp *http.Response
	dec  *sse.Decoder
}

// open connects to url with the given request headers (name, value pairs).
func open(t *testing.T, ctx context.Context, url string, header ...string) *stream {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s, want 200", url, resp.Status)
	}
	return &stream{resp: resp, dec: sse.NewDecoder(resp.Body)}
}

// next returns the IDs of the next n events.
func (s *stream) next(t *testing.T, n int) []string {
	t.Helper()
	var got []string
	for len(got) < n {
		e, err := s.dec.Next()
		if err != nil {
			t.Fatalf("after %v: %v", got, err)
		}
		got = append(got, string(e.ID))
	}
	return got
}

// readIDs reads n events from url with the given request headers and
// returns their IDs.
func readIDs(t *testing.T, url string, n int, header ...string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return open(t, ctx, url, header...).next(t, n)
}

// eventually polls cond every millisecond for up to 10s; the polling is
// the test's, never the code's.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// errorLog collects the *Errors an OnError hook receives.
type errorLog struct {
	mu   sync.Mutex
	errs []*Error
}

func (l *errorLog) add(e *Error) {
	l.mu.Lock()
	l.errs = append(l.errs, e)
	l.mu.Unlock()
}

func (l *errorLog) kinds() map[ErrorKind]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := map[ErrorKind]int{}
	for _, e := range l.errs {
		m[e.Kind]++
	}
	return m
}

func (l *errorLog) find(kind ErrorKind, target error) *Error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range l.errs {
		if e.Kind == kind && (target == nil || errors.Is(e, target)) {
			return e
		}
	}
	return nil
}
