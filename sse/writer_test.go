package sse_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lastevent/lastevent/sse"
)

func TestWriterFraming(t *testing.T) {
	tests := []struct {
		name string
		ev   sse.Event
		want string
	}{
		{"data only", sse.Event{Data: []byte("a")}, "data: a\n\n"},
		{"empty data is one empty data line", sse.Event{}, "data: \n\n"},
		{"all fields", sse.Event{ID: []byte("7"), Type: []byte("tick"), Data: []byte("x")}, "id: 7\nevent: tick\ndata: x\n\n"},
		{"multi-line data at LF, CRLF and CR", sse.Event{Data: []byte("a\nb\r\nc\rd\n")}, "data: a\ndata: b\ndata: c\ndata: d\ndata: \n\n"},
		{"leading space kept", sse.Event{Data: []byte(" a")}, "data:  a\n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := sse.NewWriter(&buf).WriteEvent(tt.ev); err != nil {
				t.Fatal(err)
			}
			if buf.String() != tt.want {
				t.Fatalf("got %q, want %q", buf.String(), tt.want)
			}
		})
	}
}

func TestWriterValidation(t *testing.T) {
	var buf bytes.Buffer
	w := sse.NewWriter(&buf)
	for _, id := range []string{"a\nb", "a\rb", "a\x00b"} {
		if err := w.WriteEvent(sse.Event{ID: []byte(id)}); !errors.Is(err, sse.ErrInvalidID) {
			t.Errorf("id %q: got %v, want ErrInvalidID", id, err)
		}
	}
	for _, typ := range []string{"a\nb", "a\rb"} {
		if err := w.WriteEvent(sse.Event{Type: []byte(typ)}); !errors.Is(err, sse.ErrInvalidType) {
			t.Errorf("type %q: got %v, want ErrInvalidType", typ, err)
		}
	}
	if err := w.WriteRetry(-time.Second); !errors.Is(err, sse.ErrInvalidRetry) {
		t.Errorf("negative retry: got %v, want ErrInvalidRetry", err)
	}
	if buf.Len() != 0 {
		t.Fatalf("rejected writes wrote %q", buf.String())
	}
	if err := w.WriteRetry(1500 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteComment("one\ntwo"); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteComment(""); err != nil {
		t.Fatal(err)
	}
	if want := "retry: 1500\n\n: one\n: two\n:\n"; buf.String() != want {
		t.Fatalf("got %q, want %q", buf.String(), want)
	}
}

// Whatever a Writer writes, a Decoder reads back as the same event (with
// CRLF and CR in data arriving as LF).
func TestWriterRoundTrip(t *testing.T) {
	events := []sse.Event{
		{ID: []byte("1"), Data: []byte("plain")},
		{ID: []byte("2"), Type: []byte("multi"), Data: []byte("a\r\nb\rc\n\n d")},
		{ID: []byte("ü-3"), Data: nil},
		{ID: []byte("4"), Data: []byte(":not a comment")},
	}
	var buf bytes.Buffer
	w := sse.NewWriter(&buf)
	for i, e := range events {
		if err := w.WriteEvent(e); err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			if err := w.WriteComment("heartbeat"); err != nil {
				t.Fatal(err)
			}
		}
	}
	dec := sse.NewDecoder(&buf)
	for _, e := range events {
		got, err := dec.Next()
		if err != nil {
			t.Fatal(err)
		}
		wantData := strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(string(e.Data))
		if string(got.ID) != string(e.ID) || string(got.Type) != string(e.Type) || string(got.Data) != wantData {
			t.Fatalf("got {%q %q %q}, want {%q %q %q}", got.ID, got.Type, got.Data, e.ID, e.Type, wantData)
		}
	}
	if _, err := dec.Next(); err != io.EOF {
		t.Fatalf("after the last event: got %v, want io.EOF", err)
	}
}

// failWriter fails every write.
type failWriter struct{ err error }

func (f failWriter) Write([]byte) (int, error) { return 0, f.err }

func TestWriterStickyError(t *testing.T) {
	boom := errors.New("boom")
	w := sse.NewWriter(failWriter{boom})
	if err := w.WriteEvent(sse.Event{Data: []byte("a")}); !errors.Is(err, boom) {
		t.Fatalf("got %v, want boom", err)
	}
	if err := w.WriteComment("x"); !errors.Is(err, boom) {
		t.Fatalf("second call: got %v, want the first error again", err)
	}
}

// A Writer on a bufio.Writer flushes it after every event.
func TestWriterFlushesEachEvent(t *testing.T) {
	var out bytes.Buffer
	bw := bufio.NewWriterSize(&out, 4096)
	w := sse.NewWriter(bw)
	if err := w.WriteEvent(sse.Event{Data: []byte("a")}); err != nil {
		t.Fatal(err)
	}
	if out.String() != "data: a\n\n" {
		t.Fatalf("after one event the underlying writer holds %q", out.String())
	}
}

func TestWriterAllocs(t *testing.T) {
	w := sse.NewWriter(io.Discard)
	e := sse.Event{ID: []byte("123456"), Type: []byte("update"), Data: []byte("line one\nline two")}
	allocs := testing.AllocsPerRun(1000, func() {
		if err := w.WriteEvent(e); err != nil {
			t.Fatal(err)
		}
		if err := w.WriteComment("heartbeat"); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("WriteEvent+WriteComment: %v allocations, want 0", allocs)
	}
}

// noFlush is a ResponseWriter that cannot flush.
type noFlush struct{ h http.Header }

func (n *noFlush) Header() http.Header         { return n.h }
func (n *noFlush) Write(b []byte) (int, error) { return len(b), nil }
func (n *noFlush) WriteHeader(int)             {}

func TestUpgradeNeedsFlush(t *testing.T) {
	if _, err := sse.Upgrade(&noFlush{h: http.Header{}}); !errors.Is(err, sse.ErrFlushNotSupported) {
		t.Fatalf("got %v, want ErrFlushNotSupported", err)
	}
	rec := httptest.NewRecorder()
	if _, err := sse.Upgrade(rec); err != nil {
		t.Fatal(err)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "text/event-stream" || !rec.Flushed {
		t.Fatalf("Content-Type %q, flushed %v", ct, rec.Flushed)
	}
}

func TestLastEventID(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	if _, ok := sse.LastEventID(r); ok {
		t.Fatal("no header reported present")
	}
	r.Header.Set("Last-Event-ID", "")
	if id, ok := sse.LastEventID(r); !ok || id != "" {
		t.Fatalf("empty header: got %q, %v; want present and empty", id, ok)
	}
}

// wrapped is a middleware's ResponseWriter: it hides Flush but unwraps.
type wrapped struct{ http.ResponseWriter }

func (w wrapped) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func TestUpgradeThroughWrapper(t *testing.T) {
	rec := httptest.NewRecorder()
	w, err := sse.Upgrade(wrapped{rec})
	if err != nil {
		t.Fatalf("Upgrade of a wrapped ResponseWriter: %v", err)
	}
	rec.Flushed = false
	if err := w.WriteEvent(sse.Event{Data: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	if !rec.Flushed || rec.Body.String() != "data: x\n\n" {
		t.Fatalf("flushed %v, body %q", rec.Flushed, rec.Body.String())
	}
}
