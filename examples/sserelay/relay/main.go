// Command relay reads an upstream Server-Sent-Events stream, drops the
// events it has already seen with a lastevent Tracker, and serves the rest
// to its own clients, browsers included, each from its own Last-Event-ID.
// Its checkpoint lives in memory or in a DynamoDB table, so that it resumes
// after a restart. It is a thin main over the relay package: flags, the
// backend, the Tracker, relay.New, an http.Server, and shutdown.
//
//	relay -upstream http://127.0.0.1:8081/events -listen 127.0.0.1:8082
//	relay -upstream ... -backend dynamodb -endpoint http://127.0.0.1:8000 -table relay -create-table
//	relay -upstream ... -allow-origin http://127.0.0.1:3000   # pages of that origin may read it
//
// It prints "relay: listening on http://ADDR/events" on stdout once it
// accepts connections, logs to stderr, and on SIGINT or SIGTERM stops
// serving, stops reading, and closes the Tracker (writing its last
// checkpoint) within -shutdown-timeout. See ../README.md for the design.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/lastevent/lastevent/relay"
	"github.com/lastevent/lastevent/shard"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "relay:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		listen       = flag.String("listen", "127.0.0.1:0", "address to serve clients on")
		upstream     = flag.String("upstream", "", "URL of the upstream event stream (required)")
		session      = flag.String("session", "", "Tracker session of the upstream stream (default: the upstream URL)")
		buffer       = flag.Int("buffer", relay.DefaultBuffer, "events kept in memory for reconnecting clients")
		window       = flag.Int("window", 128, "Tracker dedup window: the longest upstream overlap dropped within one run")
		maxOverlap   = flag.Int("max-overlap", 32, "most events the upstream may replay before the requested ones (at most the Tracker's persisted window, 32)")
		settle       = flag.Duration("settle", relay.DefaultSettle, "a quiet upstream this long has replayed no overlap on a catch-up stream")
		flushEvery   = flag.Duration("flush-interval", shard.DefaultFlushInterval, "how often the Tracker writes the checkpoint")
		heartbeat    = flag.Duration("heartbeat", relay.DefaultHeartbeat, "interval of comment heartbeats to idle clients")
		clientRetry  = flag.Duration("client-retry", relay.DefaultClientRetry, "reconnection time sent to clients")
		writeTimeout = flag.Duration("write-timeout", relay.DefaultWriteTimeout, "a client that does not read for this long is disconnected")
		maxCatchUps  = flag.Int("max-catchups", relay.DefaultMaxCatchUps, "most catch-up streams (one upstream connection each) at once")
		origins      = flag.String("allow-origin", "", "comma-separated origins whose pages may read the stream (CORS), or *; default: same origin only")
		minBackoff   = flag.Duration("backoff-min", relay.DefaultMinBackoff, "cap of the first jittered upstream reconnect wait, added to the upstream's retry")
		maxBackoff   = flag.Duration("backoff-max", relay.DefaultMaxBackoff, "cap of every jittered upstream reconnect wait")
		shutdown     = flag.Duration("shutdown-timeout", 5*time.Second, "time allowed for the final checkpoint write on SIGINT/SIGTERM")
	)
	var bf backendFlags
	bf.register(flag.CommandLine)
	flag.Parse()
	if *upstream == "" {
		return errors.New("-upstream is required")
	}
	if *session == "" {
		*session = *upstream
	}
	if *maxOverlap > min(*window, 32) {
		return fmt.Errorf("-max-overlap %d exceeds the Tracker's persisted window (min(-window %d, 32)): it could not drop such an overlap after a restart", *maxOverlap, *window)
	}
	var allowed []string
	if *origins != "" {
		allowed = strings.Split(*origins, ",")
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	backend, closeBackend, err := bf.open(ctx)
	if err != nil {
		return err
	}
	defer closeBackend()
	tracker, err := shard.New(backend, shard.Config{Window: *window, FlushInterval: *flushEvery, Logger: logger})
	if err != nil {
		return err
	}
	closeTracker := func() error {
		cctx, cancel := context.WithTimeout(context.Background(), *shutdown)
		defer cancel()
		return tracker.Close(cctx)
	}
	r, err := relay.New(ctx, relay.Config{
		URL: *upstream, Session: *session, Tracker: tracker, MinBackoff: *minBackoff, MaxBackoff: *maxBackoff,
		Buffer: *buffer, Heartbeat: *heartbeat, ClientRetry: *clientRetry, WriteTimeout: *writeTimeout,
		AllowedOrigins: allowed, MaxOverlap: *maxOverlap, Settle: *settle, MaxCatchUps: *maxCatchUps, Logger: logger,
	})
	if err != nil {
		return errors.Join(err, closeTracker())
	}

	l, err := net.Listen("tcp", *listen)
	if err != nil {
		return errors.Join(err, r.Close(ctx), closeTracker())
	}
	ln := &onceCloseListener{Listener: l}
	mux := http.NewServeMux()
	mux.Handle("/events", r) // GET streams, OPTIONS answers CORS preflights
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	fmt.Printf("relay: listening on http://%s/events\n", ln.Addr())

	var serveFailed error
	select {
	case <-ctx.Done():
	case <-r.Done(): // the reader stopped by itself: the Tracker failed permanently
	case serveFailed = <-serveErr:
	}
	logger.Info("relay: shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), *shutdown)
	defer cancel()
	// Stop accepting, and close each connection after its response, before
	// the relay ends the client streams: a client reconnecting meanwhile
	// must find the port closed (an EventSource retries) rather than get
	// the closed relay's 503 (an EventSource gives up on it for good).
	// Shutdown then waits for what is left; it would not end the
	// long-lived streams on its own.
	srv.SetKeepAlivesEnabled(false)
	err = errors.Join(ln.Close(), r.Close(sctx), srv.Shutdown(sctx))
	st := r.Stats()
	logger.Info("relay: stopped reading", "forwarded", st.EventsRelayed,
		"duplicates_dropped", st.Reader.ReplaysDropped, "slow_clients", st.SlowClientDisconnects)
	err = errors.Join(serveFailed, err, closeTracker())
	if serveFailed == nil {
		<-serveErr // Serve returns once the listener is closed
	}
	return err
}

// onceCloseListener closes its listener once: the shutdown closes it
// before http.Server.Shutdown does again.
type onceCloseListener struct {
	net.Listener
	once sync.Once
	err  error
}

func (l *onceCloseListener) Close() error {
	l.once.Do(func() { l.err = l.Listener.Close() })
	return l.err
}
