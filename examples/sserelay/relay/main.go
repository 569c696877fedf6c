// Command relay reads an upstream Server-Sent-Events stream, drops the
// events it has already seen with a lastevent Tracker, and serves the rest
// to its own clients, each from its own Last-Event-ID. Its checkpoint lives
// in memory or in a DynamoDB table, so that it resumes after a restart.
//
//	relay -upstream http://127.0.0.1:8081/events -listen 127.0.0.1:8082
//	relay -upstream ... -backend dynamodb -endpoint http://127.0.0.1:8000 -table relay -create-table
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
	"sync"
	"syscall"
	"time"

	"github.com/lastevent/lastevent/examples/sserelay/internal/relay"
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
		listen      = flag.String("listen", "127.0.0.1:0", "address to serve clients on")
		upstream    = flag.String("upstream", "", "URL of the upstream event stream (required)")
		session     = flag.String("session", "", "Tracker session of the upstream stream (default: the upstream URL)")
		buffer      = flag.Int("buffer", 1024, "events kept in memory for reconnecting clients")
		window      = flag.Int("window", 128, "Tracker dedup window: the longest upstream overlap dropped within one run")
		maxOverlap  = flag.Int("max-overlap", 32, "most events the upstream may replay before the requested ones (at most -window)")
		settle      = flag.Duration("settle", 500*time.Millisecond, "after a restart, a quiet upstream this long has replayed no overlap")
		flushEvery  = flag.Duration("flush-interval", shard.DefaultFlushInterval, "how often the Tracker writes the checkpoint")
		heartbeat   = flag.Duration("heartbeat", 15*time.Second, "interval of comment heartbeats to clients")
		clientRetry = flag.Duration("client-retry", time.Second, "reconnection time sent to clients")
		minBackoff  = flag.Duration("backoff-min", 100*time.Millisecond, "first upstream reconnect wait when the upstream sent no retry")
		maxBackoff  = flag.Duration("backoff-max", 5*time.Second, "longest upstream reconnect wait")
		shutdown    = flag.Duration("shutdown-timeout", 5*time.Second, "time allowed for the final checkpoint write on SIGINT/SIGTERM")
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
	if *maxOverlap > *window {
		return fmt.Errorf("-max-overlap %d exceeds -window %d: the Tracker could not drop such an overlap", *maxOverlap, *window)
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
	src := &relay.Source{
		URL: *upstream, MaxOverlap: *maxOverlap, Settle: *settle,
		MinBackoff: *minBackoff, MaxBackoff: *maxBackoff, Logger: logger,
	}
	r, err := relay.New(ctx, relay.Config{
		Source: src, Session: *session, Tracker: tracker, Buffer: *buffer,
		Heartbeat: *heartbeat, ClientRetry: *clientRetry, Logger: logger,
	})
	if err != nil {
		_ = closeTracker()
		return err
	}

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		_ = closeTracker()
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /events", r.Handler())
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		// Every client stream ends when ctx does: Shutdown does not wait
		// for long-lived streams on their own.
		BaseContext: func(net.Listener) context.Context { return ctx },
	}
	var wg sync.WaitGroup
	wg.Add(2)
	serveErr := make(chan error, 1)
	go func() {
		defer wg.Done()
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			serveErr <- err
			stop()
		}
	}()
	runErr := make(chan error, 1)
	go func() {
		defer wg.Done()
		if err := r.Run(ctx); !errors.Is(err, context.Canceled) {
			runErr <- err
			stop()
		}
	}()
	fmt.Printf("relay: listening on http://%s/events\n", ln.Addr())

	<-ctx.Done()
	logger.Info("relay: shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), *shutdown)
	defer cancel()
	err = srv.Shutdown(sctx)
	wg.Wait()
	forwarded, dups := r.Stats()
	logger.Info("relay: stopped reading", "forwarded", forwarded, "duplicates_dropped", dups)
	err = errors.Join(err, closeTracker())
	select {
	case e := <-serveErr:
		err = errors.Join(err, e)
	case e := <-runErr:
		err = errors.Join(err, e)
	default:
	}
	return err
}
