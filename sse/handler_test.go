package sse_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lastevent/lastevent/sse"
)

// The handler flushes each event: the client reads the first event while
// Stream is still blocked, waiting for the client to say so. It also sends
// retry first, heartbeats while idle, and hands Stream the Last-Event-ID.
func TestHandlerStreams(t *testing.T) {
	gotFirst := make(chan struct{})
	var (
		mu        sync.Mutex
		streamErr error
	)
	h := &sse.Handler{
		Retry:     250 * time.Millisecond,
		Heartbeat: 5 * time.Millisecond,
		Stream: func(w *sse.Writer, r *http.Request) error {
			id, _ := sse.LastEventID(r)
			if err := w.WriteEvent(sse.Event{ID: []byte(id + "+1"), Data: []byte("first")}); err != nil {
				return err
			}
			select {
			case <-gotFirst:
			case <-r.Context().Done():
				return r.Context().Err()
			}
			return w.WriteEvent(sse.Event{ID: []byte(id + "+2"), Data: []byte("second")})
		},
		OnError: func(_ *http.Request, err error) {
			mu.Lock()
			streamErr = err
			mu.Unlock()
		},
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	req.Header.Set("Last-Event-ID", "41")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	dec := sse.NewDecoder(resp.Body)
	first, err := dec.Next()
	if err != nil || string(first.ID) != "41+1" || string(first.Data) != "first" {
		t.Fatalf("first event: got %+v, %v", first, err)
	}
	if d, ok := dec.Retry(); !ok || d != 250*time.Millisecond {
		t.Fatalf("retry: got %v, %v; want 250ms", d, ok)
	}
	close(gotFirst)
	second, err := dec.Next()
	if err != nil || string(second.ID) != "41+2" {
		t.Fatalf("second event: got %+v, %v", second, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if streamErr != nil {
		t.Fatalf("OnError got %v", streamErr)
	}
}

func TestHandlerHeartbeat(t *testing.T) {
	h := &sse.Handler{
		Heartbeat: 2 * time.Millisecond,
		Stream: func(w *sse.Writer, r *http.Request) error {
			<-r.Context().Done()
			return r.Context().Err()
		},
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 64)
	var got strings.Builder
	for !strings.Contains(got.String(), ": heartbeat\n: heartbeat\n") {
		n, err := resp.Body.Read(buf)
		if err != nil {
			t.Fatalf("after %q: %v", got.String(), err)
		}
		got.Write(buf[:n])
	}
}

func TestHandlerRejectsPost(t *testing.T) {
	h := &sse.Handler{Stream: func(*sse.Writer, *http.Request) error { return errors.New("must not run") }}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", nil))
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != http.MethodGet {
		t.Fatalf("POST: got %d, Allow %q", rec.Code, rec.Header().Get("Allow"))
	}
}
