package relay

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lastevent/lastevent/sse"
)

// floodServer serves n events of size bytes each, "e1".."en", once gate is
// closed; a connection with Last-Event-ID eK gets the events after eK.
func floodServer(n, size int, gate <-chan struct{}) http.Handler {
	pad := strings.Repeat("x", size)
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		next := 1
		if id, ok := sse.LastEventID(r); ok && id != "" {
			k, _ := strconv.Atoi(id[1:])
			next = k + 1
		}
		w, err := sse.Upgrade(rw)
		if err != nil {
			return
		}
		select {
		case <-gate:
		case <-r.Context().Done():
			return
		}
		for i := next; i <= n; i++ {
			if w.WriteEvent(sse.Event{ID: []byte(fmt.Sprint("e", i)), Data: []byte(pad)}) != nil {
				return
			}
		}
		wait(r)
	})
}

// smallBuffers is a listener whose connections have a 4 KiB send buffer,
// so that a client that stops reading blocks the relay's writes to it
// after a few KiB rather than after the megabytes loopback autotuning
// allows.
type smallBuffers struct{ net.Listener }

func (l smallBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(4096)
	}
	return c, err
}

// serveSmall serves h with small send buffers.
func serveSmall(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.Listener = smallBuffers{srv.Listener}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL
}

// stalledClient connects to url with a 4 KiB receive buffer, reads the
// response headers, and then reads nothing: a client that stopped reading.
func stalledClient(t *testing.T, url string) *http.Response {
	t.Helper()
	dialer := &net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		if err != nil {
			return err
		}
		return serr
	}}
	tr := &http.Transport{DialContext: dialer.DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	resp, err := (&http.Client{Transport: tr}).Get(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("stalled client: %s, want 200", resp.Status)
	}
	return resp
}

// A client that stops reading holds up no one: while its stream is
// blocked on a write, another client gets every event, the upstream reader
// keeps reading, and the relay holds at most Buffer events.
func TestSlowClientBlocksNoOne(t *testing.T) {
	const n, size, buffer = 2000, 1024, 16
	gate := make(chan struct{})
	r, _ := startRelay(t, Config{URL: serveUpstream(t, floodServer(n, size, gate)), Buffer: buffer, WriteTimeout: time.Minute})
	url := serveSmall(t, r)
	stalled := stalledClient(t, url)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	fast := open(t, ctx, url)
	eventually(t, "both clients connected", func() bool { return r.Stats().Clients == 2 })
	close(gate)

	if got := fast.next(t, n); !slices.Equal(got, ids(1, n)) {
		t.Fatalf("the reading client got %d events, want e1..e%d in order", len(got), n)
	}
	st := r.Stats()
	if st.EventsRelayed != n {
		t.Fatalf("relayed %d events, want all %d: the upstream reader was held up", st.EventsRelayed, n)
	}
	if st.Buffered > buffer {
		t.Fatalf("buffer holds %d events, want at most Buffer (%d)", st.Buffered, buffer)
	}
	if st.Clients != 2 || st.SlowClientDisconnects != 0 {
		t.Fatalf("%d clients, %d slow disconnects; want the stalled client still connected (WriteTimeout 1m)", st.Clients, st.SlowClientDisconnects)
	}
	// The count of a batch is added once the batch is written, a moment
	// after the reading client has it.
	eventually(t, "the relay counts the events it sent", func() bool { return r.Stats().EventsSent >= n })
	if stalledGot := r.Stats().EventsSent - n; stalledGot >= n {
		t.Fatalf("the stalled client was sent %d events, want fewer than %d: it never read", stalledGot, n)
	}
	stalled.Body.Close() // ends its blocked write
	eventually(t, "the stalled client's stream ends", func() bool { return r.Stats().Clients == 1 })
}

// A client whose write blocks for WriteTimeout is disconnected and counted
// as a slow client; the relay goes on.
func TestSlowClientDisconnected(t *testing.T) {
	const n, size = 2000, 1024
	gate := make(chan struct{})
	r, _ := startRelay(t, Config{URL: serveUpstream(t, floodServer(n, size, gate)), Buffer: 16, WriteTimeout: 100 * time.Millisecond})
	url := serveSmall(t, r)
	stalled := stalledClient(t, url)
	eventually(t, "the client connected", func() bool { return r.Stats().Clients == 1 })
	close(gate)
	eventually(t, "the stalled client is disconnected", func() bool { return r.Stats().SlowClientDisconnects == 1 })
	eventually(t, "its stream ends", func() bool { return r.Stats().Clients == 0 })
	dec := sse.NewDecoder(stalled.Body)
	got := 0
	for {
		if _, err := dec.Next(); err != nil {
			break // the relay closed the connection
		}
		got++
	}
	if got >= n {
		t.Fatalf("the stalled client could read %d events after its disconnect, want fewer than %d", got, n)
	}
	waitRelayed(t, r, n)
}

// A client that reads slowly falls behind the buffer while connected: it is
// caught up from the upstream in place, on the same response, and gets
// every event once, in order.
func TestSlowClientFallsBehindAndCatchesUp(t *testing.T) {
	const n, size = 2000, 1024
	gate := make(chan struct{})
	r, _ := startRelay(t, Config{URL: serveUpstream(t, floodServer(n, size, gate)), Buffer: 16, WriteTimeout: time.Minute})
	url := serveSmall(t, r)
	slow := stalledClient(t, url)
	eventually(t, "the client connected", func() bool { return r.Stats().Clients == 1 })
	close(gate)
	waitRelayed(t, r, n) // the buffer has moved far past the client
	dec := sse.NewDecoder(slow.Body)
	var got []string
	for len(got) < n {
		e, err := dec.Next()
		if err != nil {
			t.Fatalf("after %d events: %v", len(got), err)
		}
		got = append(got, string(e.ID))
	}
	if !slices.Equal(got, ids(1, n)) {
		t.Fatalf("got %d events, want e1..e%d exactly once, in order", len(got), n)
	}
	if st := r.Stats(); st.FellBehind < 1 || st.CatchUpsStarted < 1 {
		t.Fatalf("fell behind %d times, %d catch-ups; want at least 1 of each", st.FellBehind, st.CatchUpsStarted)
	}
}
