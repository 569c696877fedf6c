package sse

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Writer writes a text/event-stream: each event as id, event and data lines
// and a blank line, then a flush, so a client sees it at once.
//
// A Writer is safe for concurrent use (a heartbeat goroutine may write
// comments while another writes events); each call writes whole lines, never
// interleaved with another call's. It must not be copied. Once a write fails,
// every later call returns the same error.
type Writer struct {
	mu    sync.Mutex
	dst   io.Writer
	flush func() error
	buf   []byte // reused frame buffer: one Write per call, no allocation once grown
	err   error
}

// NewWriter returns a Writer on w. After each event or comment it flushes
// w: through http.ResponseController when w is an http.ResponseWriter (which
// also reaches a wrapped writer's Flush through Unwrap), otherwise through
// w's Flush method if it has one (a bufio.Writer, an http.Flusher).
func NewWriter(w io.Writer) *Writer {
	sw := &Writer{dst: w}
	switch f := w.(type) {
	case http.ResponseWriter:
		rc := http.NewResponseController(f)
		sw.flush = rc.Flush
	case interface{ Flush() error }:
		sw.flush = f.Flush
	case http.Flusher:
		sw.flush = func() error { f.Flush(); return nil }
	}
	return sw
}

// Upgrade starts an event stream on w: it sets Content-Type
// text/event-stream, Cache-Control no-cache and X-Accel-Buffering no (so a
// proxy in between does not hold events back), writes status 200, flushes,
// and returns a Writer. If w cannot flush, it writes nothing and returns an
// error wrapping ErrFlushNotSupported.
func Upgrade(w http.ResponseWriter) (*Writer, error) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	rc := http.NewResponseController(w)
	w.WriteHeader(http.StatusOK)
	if err := rc.Flush(); err != nil {
		if errors.Is(err, http.ErrNotSupported) {
			return nil, fmt.Errorf("%w: %w", ErrFlushNotSupported, err)
		}
		return nil, err
	}
	return &Writer{dst: w, flush: rc.Flush}, nil
}

// LastEventID returns the request's Last-Event-ID header and whether it was
// present; a client sends it when it reconnects. An empty header counts as
// present: the client reset its ID.
func LastEventID(r *http.Request) (string, bool) {
	v := r.Header.Values("Last-Event-ID")
	if len(v) == 0 {
		return "", false
	}
	return v[0], true
}

// WriteEvent writes ev and flushes. Data is split into one data line per
// line, at LF, CRLF or CR (a parser joins them with LF, so CRLF and CR in
// Data arrive as LF); an event always has at least one data line, so one
// with empty Data is still dispatched. ID is written when non-empty, Type
// when non-empty. An ID with CR, LF or NUL yields ErrInvalidID and a Type
// with CR or LF ErrInvalidType; nothing is written then. WriteEvent does not
// retain ev and does not allocate once its buffer has grown to the largest
// event.
func (w *Writer) WriteEvent(ev Event) error {
	if bytes.ContainsAny(ev.ID, "\r\n\x00") {
		return fmt.Errorf("%w: %q", ErrInvalidID, ev.ID)
	}
	if bytes.ContainsAny(ev.Type, "\r\n") {
		return fmt.Errorf("%w: %q", ErrInvalidType, ev.Type)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	b := w.buf[:0]
	if len(ev.ID) > 0 {
		b = append(append(append(b, "id: "...), ev.ID...), '\n')
	}
	if len(ev.Type) > 0 {
		b = append(append(append(b, "event: "...), ev.Type...), '\n')
	}
	b = appendLines(b, "data: ", ev.Data)
	b = append(b, '\n')
	return w.writeLocked(b)
}

// WriteComment writes text as comment lines (one per line of text, each
// starting with a colon) and flushes. A parser ignores comments; a server
// sends them as heartbeats, so that proxies and clients see the connection
// alive. An empty text writes a single ":" line.
func (w *Writer) WriteComment(text string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	b := w.buf[:0]
	if text == "" {
		b = append(b, ":\n"...)
	} else {
		b = appendLines(b, ": ", []byte(text)) // []byte(text) does not escape: no allocation
	}
	return w.writeLocked(b)
}

// WriteRetry writes a retry field, telling the client to wait d (in whole
// milliseconds) before reconnecting, and flushes. A negative d yields
// ErrInvalidRetry.
func (w *Writer) WriteRetry(d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("%w: %v", ErrInvalidRetry, d)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	b := append(w.buf[:0], "retry: "...)
	b = strconv.AppendInt(b, d.Milliseconds(), 10)
	b = append(b, '\n', '\n')
	return w.writeLocked(b)
}

func (w *Writer) writeLocked(b []byte) error {
	w.buf = b
	if w.err != nil {
		return w.err
	}
	if _, err := w.dst.Write(b); err != nil {
		w.err = err
		return err
	}
	if w.flush != nil {
		if err := w.flush(); err != nil {
			w.err = err
			return err
		}
	}
	return nil
}

// appendLines appends one prefix+line+LF per line of text, splitting at LF,
// CRLF and CR; an empty text is one empty line.
func appendLines(b []byte, prefix string, text []byte) []byte {
	for {
		i := bytes.IndexAny(text, "\r\n")
		if i < 0 {
			return append(append(append(b, prefix...), text...), '\n')
		}
		b = append(append(append(b, prefix...), text[:i]...), '\n')
		if text[i] == '\r' && i+1 < len(text) && text[i+1] == '\n' {
			i++
		}
		text = text[i+1:]
	}
}
