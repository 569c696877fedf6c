package relay

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lastevent/lastevent/backends/memory"
	"github.com/lastevent/lastevent/shard"
	"github.com/lastevent/lastevent/sse"
)

// A relay restarted with a stored checkpoint at e10 serves clients behind
// it (from a catch-up stream that drops the upstream's overlap by matching
// the client's position, then meets the buffer), at it (the buffer's
// base), ahead of it, and without a Last-Event-ID (the whole stream), each
// exactly once and in order; the upstream's overlap before e10 on the
// relay's own connection is dropped by the Tracker.
func TestRelayResumesAndServesEveryPosition(t *testing.T) {
	const n, overlap = 30, 3
	backend := memory.New()
	observed(t, backend, shard.Config{}, "s", ids(1, 10))
	r, url := startRelay(t, Config{URL: serveUpstream(t, logServer(n, overlap)), MaxOverlap: overlap, Buffer: 64,
		Tracker: newTracker(t, backend, shard.Config{})})
	for _, tc := range []struct {
		last string
		want []string
	}{
		{"e5", ids(6, n)},   // behind the checkpoint
		{"e10", ids(11, n)}, // at the checkpoint: the buffer's base
		{"e20", ids(21, n)}, // ahead of what the relay re-read at first
		{"", ids(1, n)},     // no Last-Event-ID: the whole stream
	} {
		var header []string
		if tc.last != "" {
			header = []string{"Last-Event-ID", tc.last}
		}
		if got := readIDs(t, url, len(tc.want), header...); !slices.Equal(got, tc.want) {
			t.Errorf("client at %q: got %v, want %v", tc.last, got, tc.want)
		}
	}
	st := r.Stats()
	if st.EventsRelayed != n-10 {
		t.Fatalf("relayed %d upstream events after the checkpoint, want %d (the overlap before it dropped)", st.EventsRelayed, n-10)
	}
	if st.Reader.ReplaysDropped != overlap {
		t.Fatalf("replays dropped %d, want the upstream's overlap of %d", st.Reader.ReplaysDropped, overlap)
	}
	if st.CatchUpsStarted < 2 {
		t.Fatalf("%d catch-up streams, want at least 2 (clients at e5 and at the start)", st.CatchUpsStarted)
	}
}

// waitRelayed waits until the relay has put n events into its buffer.
func waitRelayed(t *testing.T, r *Relay, n uint64) {
	t.Helper()
	eventually(t, fmt.Sprintf("the relay relays %d events", n), func() bool { return r.Stats().EventsRelayed >= n })
}

// A client asking for a position older than the buffer is caught up from
// the upstream, then continues from the buffer, without a repeat or a gap.
func TestRelayCatchUpOlderThanBuffer(t *testing.T) {
	const n = 40
	r, url := startRelay(t, Config{URL: serveUpstream(t, logServer(n, 2)), MaxOverlap: 2, Buffer: 4})
	waitRelayed(t, r, n) // e1..e36 have left the 4-event buffer
	if got := readIDs(t, url, n); !slices.Equal(got, ids(1, n)) {
		t.Fatalf("got %v, want e1..e%d", got, n)
	}
	if got := readIDs(t, url, n-3, "Last-Event-ID", "e3"); !slices.Equal(got, ids(4, n)) {
		t.Fatalf("client at e3: got %v, want e4..e%d", got, n)
	}
}

// The client's position: the Last-Event-ID header wins over the query
// parameter (an EventSource reconnects with the header and the URL it was
// opened with), an empty header means the start, the parameter serves when
// the header is absent, and its name is configurable.
func TestRelayLastEventIDHeaderAndQuery(t *testing.T) {
	const n = 12
	up := serveUpstream(t, logServer(n, 0))
	r, url := startRelay(t, Config{URL: up})
	waitRelayed(t, r, n)
	r2, url2 := startRelay(t, Config{URL: up, LastEventIDParam: "since"})
	waitRelayed(t, r2, n)
	for _, tc := range []struct {
		name   string
		url    string
		header []string
		want   []string
	}{
		{"header only", url, []string{"Last-Event-ID", "e5"}, ids(6, n)},
		{"query only", url + "?lastEventId=e7", nil, ids(8, n)},
		{"header wins over query", url + "?lastEventId=e2", []string{"Last-Event-ID", "e9"}, ids(10, n)},
		{"empty header: the start, whatever the query", url + "?lastEventId=e7", []string{"Last-Event-ID", ""}, ids(1, n)},
		{"neither: the start", url, nil, ids(1, n)},
		{"empty query: the start", url + "?lastEventId=", nil, ids(1, n)},
		{"named parameter", url2 + "?since=e3", nil, ids(4, n)},
		{"default name not read when renamed", url2 + "?lastEventId=e3", nil, ids(1, n)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := readIDs(t, tc.url, len(tc.want), tc.header...); !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
	resp, err := http.Get(url + "?lastEventId=e1%0Aevil")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("a position with LF: got %s, want 400", resp.Status)
	}
}

// An idle stream starts with the retry field and then carries a comment
// every Heartbeat.
func TestRelayHeartbeat(t *testing.T) {
	s := &scripted{serve: func(_ int, _ *sse.Writer, r *http.Request) { wait(r) }} // a silent upstream
	_, url := startRelay(t, Config{URL: serveUpstream(t, s), Heartbeat: 10 * time.Millisecond, ClientRetry: 1500 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st := open(t, ctx, url)
	sc := bufio.NewScanner(st.resp.Body)
	var lines []string
	for beats := 0; beats < 3 && sc.Scan(); {
		lines = append(lines, sc.Text())
		if sc.Text() == ": heartbeat" {
			beats++
		}
	}
	if len(lines) < 2 || lines[0] != "retry: 1500" {
		t.Fatalf("stream began %q, want the retry field (retry: 1500) first", lines)
	}
	if n := slices.Index(lines, ": heartbeat"); n < 0 {
		t.Fatalf("no heartbeat comment in %q", lines)
	}
}

// Close ends every client stream, on the buffer and on a catch-up, stops
// the reader, and waits for all of it; a request after Close gets 503.
func TestRelayCloseEndsEverything(t *testing.T) {
	s := &scripted{serve: func(_ int, w *sse.Writer, r *http.Request) {
		if id, _ := sse.LastEventID(r); id == "" {
			send(w, "e1", "e2")
		}
		wait(r) // a catch-up (Last-Event-ID old) gets nothing, and stays
	}}
	r, err := New(context.Background(), Config{URL: serveUpstream(t, s), Session: "s",
		Tracker: newTracker(t, memory.New(), shard.Config{}), Logger: quiet(), MinBackoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv := serveUpstream(t, r)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	onBuffer := open(t, ctx, srv)
	if got := onBuffer.next(t, 2); !slices.Equal(got, []string{"e1", "e2"}) {
		t.Fatalf("client at the start: got %v, want [e1 e2]", got)
	}
	onCatchUp := open(t, ctx, srv, "Last-Event-ID", "old")
	eventually(t, "a catch-up stream runs", func() bool { return r.Stats().CatchUps == 1 })

	if err := r.Close(ctx); err != nil {
		t.Fatalf("Close: %v, want nil", err)
	}
	for name, st := range map[string]*stream{"buffer": onBuffer, "catch-up": onCatchUp} {
		if e, err := st.dec.Next(); err == nil {
			t.Fatalf("client on the %s after Close: got event %q, want the stream ended", name, e.ID)
		}
	}
	select {
	case <-r.Done():
	default:
		t.Fatal("Done not closed after Close")
	}
	if st := r.Stats(); st.Clients != 0 || st.CatchUps != 0 || st.Reader.Connected != 0 {
		t.Fatalf("after Close: %d clients, %d catch-ups, upstream connected %d; want 0, 0, 0", st.Clients, st.CatchUps, st.Reader.Connected)
	}
	resp, err := http.Get(srv)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("GET after Close: %s, want 503", resp.Status)
	}
	if err := r.Close(ctx); err != nil {
		t.Fatalf("second Close: %v, want nil", err)
	}
}

// A Tracker closed under the relay stops its reader: Done is closed, Err
// and Close say why, and the buffer is still served.
func TestRelayReaderStopsWithTracker(t *testing.T) {
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
	r, url := startRelayNoClose(t, Config{URL: serveUpstream(t, s), Tracker: tracker})
	waitRelayed(t, r, 1)
	if err := tracker.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	close(release)
	select {
	case <-r.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("Done not closed within 10s of the Tracker's Close")
	}
	if !errors.Is(r.Err(), shard.ErrClosed) {
		t.Fatalf("Err: got %v, want shard.ErrClosed", r.Err())
	}
	if got := readIDs(t, url, 1); !slices.Equal(got, []string{"e1"}) {
		t.Fatalf("after the reader stopped: got %v, want the buffer's [e1]", got)
	}
	if err := r.Close(context.Background()); !errors.Is(err, shard.ErrClosed) {
		t.Fatalf("Close: got %v, want the reader's shard.ErrClosed", err)
	}
}

// startRelayNoClose is startRelay for a test that closes the relay itself.
func startRelayNoClose(t *testing.T, cfg Config) (*Relay, string) {
	t.Helper()
	cfg.Session, cfg.Logger, cfg.MinBackoff = "s", quiet(), time.Millisecond
	r, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close(context.Background()) })
	return r, serveUpstream(t, r)
}

// At most MaxCatchUps catch-up streams run at once; a client that needs
// one waits for a slot and then gets its events.
func TestRelayMaxCatchUps(t *testing.T) {
	const n = 10
	s := &scripted{serve: func(_ int, w *sse.Writer, r *http.Request) {
		switch id, _ := sse.LastEventID(r); id {
		case "": // the relay's own connection
			send(w, ids(1, n)...)
		case "e1": // the first client's catch-up: one event, then it stays
			send(w, "e2")
		default:
			send(w, ids(4, n)...)
		}
		wait(r)
	}}
	r, url := startRelay(t, Config{URL: serveUpstream(t, s), Buffer: 2, MaxCatchUps: 1})
	waitRelayed(t, r, n)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	first := open(t, ctx, url, "Last-Event-ID", "e1") // not in the buffer: a catch-up
	if got := first.next(t, 1); !slices.Equal(got, []string{"e2"}) {
		t.Fatalf("first client: got %v, want [e2]", got)
	}
	// The first client is on its catch-up, which stays; the second waits.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel2()
	second := make(chan []string, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx2, http.MethodGet, url, nil)
		req.Header.Set("Last-Event-ID", "e3")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			second <- nil
			return
		}
		defer resp.Body.Close()
		dec := sse.NewDecoder(resp.Body)
		var got []string
		for len(got) < n-3 {
			e, err := dec.Next()
			if err != nil {
				break
			}
			got = append(got, string(e.ID))
		}
		second <- got
	}()
	eventually(t, "the second client waits for a slot", func() bool { return r.Stats().Clients == 2 })
	if st := r.Stats(); st.CatchUps != 1 || st.CatchUpsStarted != 1 {
		t.Fatalf("with MaxCatchUps 1: %d catch-ups running, %d started; want 1, 1", st.CatchUps, st.CatchUpsStarted)
	}
	first.resp.Body.Close() // frees the slot
	if got := <-second; !slices.Equal(got, ids(4, n)) {
		t.Fatalf("second client: got %v, want e4..e%d", got, n)
	}
}

// Metrics carry the configured prefix and constant labels, and count what
// the relay did.
func TestRelayMetrics(t *testing.T) {
	const n = 5
	s := &scripted{serve: func(conn int, w *sse.Writer, r *http.Request) {
		if conn == 1 {
			send(w, ids(1, 3)...)
			return
		}
		send(w, ids(2, n)...) // e2, e3 are replays
		wait(r)
	}}
	r, url := startRelay(t, Config{URL: serveUpstream(t, s), MetricsPrefix: "gw_", MetricsLabels: map[string]string{"upstream": "orders"}})
	waitRelayed(t, r, n)
	readIDs(t, url, n)
	eventually(t, "the client's stream ends", func() bool { return r.Stats().Clients == 0 })
	var buf bytes.Buffer
	r.Metrics().WritePrometheus(&buf)
	for _, line := range []string{
		`gw_events_relayed_total{upstream="orders"} 5`,
		`gw_events_sent_total{upstream="orders"} 5`,
		`gw_replays_dropped_total{upstream="orders"} 2`,
		`gw_upstream_reconnects_total{upstream="orders"} 1`,
		`gw_errors_total{upstream="orders",kind="stream"} 1`,
		`gw_errors_total{upstream="orders",kind="catchup"} 0`,
		`gw_clients{upstream="orders"} 0`,
		`gw_buffered_events{upstream="orders"} 5`,
		`gw_slow_client_disconnects_total{upstream="orders"} 0`,
		`gw_cors_denied_total{upstream="orders"} 0`,
		`gw_upstream_connected{upstream="orders"} 1`,
	} {
		if !strings.Contains(buf.String(), line+"\n") {
			t.Errorf("metrics lack %q:\n%s", line, buf.String())
		}
	}
}

func TestRelayInvalidConfig(t *testing.T) {
	tracker := newTracker(t, memory.New(), shard.Config{})
	ok := Config{URL: "http://x", Session: "s", Tracker: tracker}
	for _, tc := range []struct {
		edit func(*Config)
		want string
	}{
		{func(c *Config) { c.URL = "" }, "relay: Config.URL: required"},
		{func(c *Config) { c.Tracker = nil }, "relay: Config.Tracker: required"},
		{func(c *Config) { c.Buffer = -1 }, "relay: Config.Buffer -1: must be positive"},
		{func(c *Config) { c.MaxOverlap = -2 }, "relay: Config.MaxOverlap -2: must not be negative"},
		{func(c *Config) { c.AllowedOrigins = []string{"https://a.example", "a.example"} },
			`relay: Config.AllowedOrigins[1] "a.example": want "*" or scheme://host[:port] with scheme http or https`},
		{func(c *Config) { c.AllowedOrigins = []string{"https://a.example/app"} },
			`relay: Config.AllowedOrigins[0] "https://a.example/app": want "*" or scheme://host[:port], without path, query or user`},
		{func(c *Config) { c.AllowCredentials = true }, "relay: Config.AllowCredentials: needs AllowedOrigins"},
		{func(c *Config) { c.MetricsPrefix = "9x" }, `relay: Config.MetricsPrefix "9x": must be a Prometheus metric name prefix ([a-zA-Z_:][a-zA-Z0-9_:]*)`},
	} {
		cfg := ok
		tc.edit(&cfg)
		if _, err := New(context.Background(), cfg); err == nil || err.Error() != tc.want {
			t.Errorf("New: got %v, want %q", err, tc.want)
		}
	}
}
